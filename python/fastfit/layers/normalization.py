"""Normalization layers, as Keras 3 defines them. BatchNormalization: batch statistics in training
(and moving averages of them updated), the moving averages in inference. LayerNormalization: each
sample's statistics over its feature axes, one fused C++ op (csrc/ops/layer_norm.cpp)."""
from .. import _core, constraints, initializers, ops, regularizers
from . import layer_config
from .layer import Layer


class BatchNormalization(Layer):
    """Normalizes its input over every axis but the feature axis.

    In training (`fit`, or `training=True`) it uses the batch's mean and variance and updates
    ``moving_mean = moving_mean * momentum + mean * (1 - momentum)`` (likewise the variance); in
    inference it uses the moving statistics. The output is
    ``gamma * (x - mean) / sqrt(variance + epsilon) + beta``. gamma and beta are trainable, the
    moving statistics are not; a layer with `trainable = False` always runs in inference mode.

    >>> bn = BatchNormalization()
    >>> bn(np.ones((4, 3), "float32"), training=True).shape
    (4, 3)
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", moving_mean_initializer="zeros", moving_variance_initializer="ones",
                 beta_regularizer=None, gamma_regularizer=None, beta_constraint=None, gamma_constraint=None,
                 renorm=False, renorm_clipping=None, renorm_momentum=0.99, synchronized=False, **kwargs):
        super().__init__(**kwargs)
        if renorm or renorm_clipping is not None:
            raise NotImplementedError("BatchNormalization: `renorm` is not supported yet")
        if synchronized:
            raise NotImplementedError("BatchNormalization: `synchronized=True` is not supported (one device only)")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNormalization: `momentum` must be in [0, 1], got {momentum}")
        if epsilon <= 0:
            raise ValueError(f"BatchNormalization: `epsilon` must be positive, got {epsilon}")
        self.axis = int(axis)
        self.momentum, self.epsilon = float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.moving_mean_initializer = initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = initializers.get(moving_variance_initializer)
        _scale_and_center_options(self, beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint)

    def build(self, input_shape):
        rank = len(input_shape)
        if self.axis not in (-1, rank - 1):
            raise NotImplementedError(f"BatchNormalization: only the last axis is supported yet, got axis={self.axis} "
                                      f"for inputs of rank {rank}")
        if input_shape[-1] is None:
            raise ValueError(f"BatchNormalization '{self.name}': the feature axis must be known, got {input_shape}")
        shape = (input_shape[-1],)
        _add_scale_and_center(self, shape)
        self.moving_mean = self.add_weight(shape, self.moving_mean_initializer, "moving_mean", trainable=False)
        self.moving_variance = self.add_weight(shape, self.moving_variance_initializer, "moving_variance",
                                               trainable=False)
        self._reduction_axes = list(range(rank - 1))
        self.built = True

    def call(self, inputs, training=None):
        if training and self.trainable:
            mean = ops.reduce_mean(inputs, axis=self._reduction_axes)
            centered = inputs - mean
            variance = ops.reduce_mean(ops.square(centered), axis=self._reduction_axes)
            self.moving_mean.assign(self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            centered = inputs - self.moving_mean
            variance = self.moving_variance
        scale = 1.0 / ops.sqrt(variance + self.epsilon)
        if self.gamma is not None:
            scale = scale * self.gamma
        out = centered * scale
        return out + self.beta if self.beta is not None else out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale,
                **layer_config.options(self, "beta_initializer", "gamma_initializer", "moving_mean_initializer",
                                       "moving_variance_initializer", *_SCALE_AND_CENTER), "synchronized": False,
                "renorm": False, "renorm_clipping": None, "renorm_momentum": 0.99}


class LayerNormalization(Layer):
    """Normalizes each sample over `axis` (an int or a list of them; the last by default):
    ``gamma * (x - mean) / sqrt(variance + epsilon) + beta``, with the mean and the (biased) variance
    over those axes. gamma (when `scale`) and beta (when `center`) have the shape of those axes.

    >>> LayerNormalization()(np.ones((2, 3), "float32")).shape
    (2, 3)
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, rms_scaling=False, **kwargs):
        super().__init__(**kwargs)
        if rms_scaling:
            raise NotImplementedError("LayerNormalization: `rms_scaling` is not supported yet")
        if isinstance(axis, (list, tuple)):
            self.axis = [int(a) for a in axis]
        elif isinstance(axis, int):
            self.axis = axis
        else:
            raise TypeError(f"Expected an int or a list/tuple of ints for the argument 'axis', but received: {axis!r}")
        self.epsilon, self.center, self.scale = float(epsilon), bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        _scale_and_center_options(self, beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint)

    def build(self, input_shape):
        rank = len(input_shape)
        axes = self.axis if isinstance(self.axis, list) else [self.axis]
        for a in axes:
            if not -rank <= a < rank:
                raise ValueError(f"Axis {a} is out of bounds for input shape {tuple(input_shape)}. "
                                 f"Received: axis={self.axis}")
        self._axes = sorted({a % rank for a in axes})
        self.axis = sorted(axes)  # as Keras keeps it once built (get_config shows a list)
        _add_scale_and_center(self, tuple(input_shape[a] for a in self._axes))
        # The op normalizes trailing axes: other axes are moved last around it.
        self._perm = [a for a in range(rank) if a not in self._axes] + self._axes
        self.built = True

    def call(self, inputs):
        moved = self._perm != sorted(self._perm)
        x = ops.transpose(inputs, self._perm) if moved else inputs
        params = [w for w in (self.gamma, self.beta) if w is not None]
        y = _core.apply("layer_norm", [x] + params, epsilon=self.epsilon, begin_norm_axis=-len(self._axes),
                        scale=self.scale, center=self.center)
        return ops.transpose(y, [self._perm.index(a) for a in range(len(self._perm))]) if moved else y

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "rms_scaling": False,
                **layer_config.options(self, "beta_initializer", "gamma_initializer", *_SCALE_AND_CENTER)}


def _scale_and_center_options(layer, beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint):
    layer.beta_regularizer = regularizers.get(beta_regularizer)
    layer.gamma_regularizer = regularizers.get(gamma_regularizer)
    layer.beta_constraint = constraints.get(beta_constraint)
    layer.gamma_constraint = constraints.get(gamma_constraint)


def _add_scale_and_center(layer, shape):
    """gamma (when `scale`) and beta (when `center`) of `shape`, with their initializers, regularizers
    and constraints."""
    layer.gamma = layer.add_weight(shape, layer.gamma_initializer, "gamma", regularizer=layer.gamma_regularizer,
                                   constraint=layer.gamma_constraint) if layer.scale else None
    layer.beta = layer.add_weight(shape, layer.beta_initializer, "beta", regularizer=layer.beta_regularizer,
                                  constraint=layer.beta_constraint) if layer.center else None


_SCALE_AND_CENTER = ("beta_regularizer", "gamma_regularizer", "beta_constraint", "gamma_constraint")
