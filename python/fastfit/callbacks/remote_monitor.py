"""RemoteMonitor: posts each epoch's logs to a server."""
import json
import warnings

import numpy as np

from .callback import Callback


class RemoteMonitor(Callback):
    """At the end of each epoch, POSTs `{"epoch": i, <logs>}` to `root + path`: as JSON in the form
    field `field`, or (send_as_json) as a JSON body. An unreachable server gives a warning, not an
    error. Uses the standard library's urllib (Keras uses `requests`; the requests sent are the same).

    Args:
        root: the server, e.g. "http://localhost:9000".
        path: the path the events go to.
        field: the form field holding the JSON.
        headers: extra HTTP headers (a dict).
        send_as_json: send the logs as an application/json body.

    >>> monitor = keras.callbacks.RemoteMonitor(root="http://localhost:9000")
    """

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data", headers=None,
                 send_as_json=False):
        super().__init__()
        self.root = root
        self.path = path
        self.field = field
        self.headers = headers
        self.send_as_json = send_as_json

    def on_epoch_end(self, epoch, logs=None):
        import urllib.error
        import urllib.parse
        import urllib.request
        send = {"epoch": epoch}
        for k, v in (logs or {}).items():
            send[k] = v.item() if isinstance(v, (np.ndarray, np.generic)) else v
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode()
            headers["Content-Type"] = "application/json"
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode()
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10):
                pass
        except (urllib.error.URLError, OSError):
            warnings.warn(f"Could not reach RemoteMonitor root server at {self.root}", stacklevel=2)
