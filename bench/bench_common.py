"""What several bench scripts share: running one engine in its own subprocess, and the PyTorch
classifier loop they time against."""
import json
import os
import subprocess
import sys
import time


def run_worker(script, name, data_path, epochs, tail=12):
    """`script --worker name` in a subprocess: its last JSON line, or {"error": the output's tail}."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow")
    proc = subprocess.run([sys.executable, script, "--worker", name, "--data", data_path, "--epochs", str(epochs)],
                          env=env, capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode or not lines:
        return {"error": (proc.stderr or proc.stdout).strip().splitlines()[-tail:]}
    return json.loads(lines[-1])


def torch_fit(torch, model, opt, train, val, epochs, batch):
    """PyTorch's idiomatic loop: a random permutation per epoch, cross-entropy, then validation.
    Returns (seconds per epoch, the last validation loss, its accuracy)."""
    loss_fn = torch.nn.CrossEntropyLoss()
    (x_train, y_train), (x_val, y_val) = train, val
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        perm = torch.randperm(len(x_train))
        for i in range(0, len(x_train), batch):
            idx = perm[i:i + batch]
            opt.zero_grad()
            loss_fn(model(x_train[idx]), y_train[idx]).backward()
            opt.step()
        val_loss = correct = 0
        with torch.no_grad():
            for i in range(0, len(x_val), batch):
                logits, y = model(x_val[i:i + batch]), y_val[i:i + batch]
                val_loss += loss_fn(logits, y).item() * len(y)
                correct += (logits.argmax(1) == y).sum().item()
        times.append(time.perf_counter() - t0)
    return times, val_loss / len(x_val), correct / len(x_val)
