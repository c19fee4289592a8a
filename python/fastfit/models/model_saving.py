"""What a Model adds to save and load itself: `save`, `save_weights`, `load_weights`, `to_json`, its
config (functional graph, or a subclass's constructor arguments), its compile() arguments and the
shape it was built for, each under Keras 3's names."""
import inspect
import json

from ..layers.layer import Layer
from ..layers.layer_config import default_config, shaped
from .functional_config import functional_from_config, get_functional_config


def functional_like(cls):
    """Whether `cls(inputs=..., outputs=..., name=...)` rebuilds an instance: Model itself, or a
    subclass that keeps Model's constructor (or takes *args and **kwargs)."""
    from .model import Model
    init = inspect.getfullargspec(cls.__init__)
    return cls.__init__ is Model.__init__ or (init.varargs is not None and init.varkw is not None)


class ModelSaving:
    """Mixed into Model: saving, loading and configs."""

    def save(self, filepath, overwrite=True, zipped=None, **kwargs):
        """Saves the model (config, weights, compile() arguments and optimizer state) to a `.keras`
        file, or a Keras 2 style `.h5` file. Every write is atomic: a crash leaves the old file or
        the new one. `overwrite=False` raises FileExistsError where a file exists (Keras asks).

        >>> model.save("model.keras")
        >>> restored = keras.models.load_model("model.keras")
        """
        from ..saving import save_model
        save_model(self, filepath, overwrite=overwrite, zipped=zipped, **kwargs)

    def save_weights(self, filepath, overwrite=True, max_shard_size=None):
        """Saves the weights (and the optimizer state) to a `.weights.h5` file in Keras 3's layout.

        >>> model.save_weights("model.weights.h5")
        """
        from ..saving import save_weights
        save_weights(self, filepath, overwrite=overwrite, max_shard_size=max_shard_size)

    def load_weights(self, filepath, skip_mismatch=False, **kwargs):
        """Loads weights from a `.weights.h5`, `.keras` or Keras 2 `.h5` file. Weights that do not fit
        the model raise ValueError naming the file and the layer (a warning with skip_mismatch=True)."""
        from ..saving import load_weights
        load_weights(self, filepath, skip_mismatch=skip_mismatch, **kwargs)

    @default_config
    def get_config(self):
        """A functional model's graph (Keras 3's Functional config); for a subclassed model, the
        arguments its constructor was called with (auto-config), or override it."""
        if self._graph is not None and functional_like(type(self)):
            return get_functional_config(self)
        return Layer.get_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        """The model `get_config()` (or Keras 3's Functional or Model config) describes."""
        functional = all(key in config for key in ("layers", "input_layers", "output_layers"))
        if functional and functional_like(cls):
            return functional_from_config(cls, config, custom_objects)
        try:
            return cls(**config)
        except TypeError as e:
            raise TypeError(f"Unable to revive model {cls.__name__} from its config: {e}. When overriding "
                            "`get_config()`, return every argument of the constructor, or define "
                            f"`from_config(cls, config)`. Received config={config}") from e

    def to_json(self, **kwargs):
        """The model's config as a JSON string (`keras.models.model_from_json` reads it back)."""
        from ..saving.serialization import serialize_keras_object
        return json.dumps(serialize_keras_object(self), **kwargs)

    def get_compile_config(self):
        """compile()'s arguments, or None before compile()."""
        c = self._compile_config
        if c is None:
            return None
        return {"optimizer": c.optimizer, "loss": c.loss_spec, "loss_weights": c.loss_weights_spec,
                "metrics": c.metric_specs, "weighted_metrics": c.weighted_specs, "run_eagerly": c.run_eagerly,
                "steps_per_execution": c.steps_per_execution, "jit_compile": c.jit_compile}

    def compile_from_config(self, config):
        """compile() with the arguments `get_compile_config()` gave (their objects deserialized)."""
        from ..saving.serialization import builtin_tables, deserialize_keras_object
        config = dict(config)
        tables = {"optimizer": "optimizers", "loss": "losses", "metrics": "metrics", "weighted_metrics": "metrics"}
        for key, family in tables.items():
            value = config.get(key)
            if value is not None and not isinstance(value, str):
                config[key] = deserialize_keras_object(value, module_objects=builtin_tables()[family])
        self.compile(**config)

    def get_build_config(self):
        """The input shape a subclassed or Sequential model was built for; None for a functional one
        (its graph holds its shapes)."""
        if self._graph is not None:
            return None
        return Layer.get_build_config(self)

    def build_from_config(self, config):
        """Builds the model for the recorded input shape: a subclassed model runs once on zeros, in
        inference, which creates its layers' weights (as Keras builds it)."""
        import numpy as np
        shape = config.get("input_shape") if config else None
        if shape is None or self.built and self.weights:
            return
        shape = shaped(shape)

        def zeros(s):
            return np.zeros([1 if d is None else d for d in s], np.float32)
        inputs = {k: zeros(s) for k, s in shape.items()} if isinstance(shape, dict) else (
            [zeros(s) for s in shape] if isinstance(shape, list) else zeros(shape))
        from ..layers.layer import _ShapeRun
        with _ShapeRun(self):
            self(inputs, training=False)
        self._build_input_shape = shape
