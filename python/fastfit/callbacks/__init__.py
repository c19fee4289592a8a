"""keras.callbacks: the Callback base class and Keras 3's built-in callbacks, one module per family.

fit/evaluate/predict run stretches of batches in C++; they return to Python per batch only for a
callback that needs every batch (one overriding a batch hook, TensorBoard with batch updates,
TerminateOnNaN). ModelCheckpoint and BackupAndRestore live with saving."""
from .callback import Callback
from .callback_list import CallbackList
from .csv_logger import CSVLogger
from .early_stopping import EarlyStopping
from .history import History
from .lambda_callback import LambdaCallback
from .learning_rate_scheduler import LearningRateScheduler
from .progbar_logger import ProgbarLogger
from .reduce_lr_on_plateau import ReduceLROnPlateau
from .remote_monitor import RemoteMonitor
from .swap_ema_weights import SwapEMAWeights
from .tensorboard import TensorBoard
from .terminate_on_nan import TerminateOnNaN

from ..saving.checkpoint_callbacks import BackupAndRestore, ModelCheckpoint  # noqa: E402 - saving/ owns them

__all__ = ["BackupAndRestore", "CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
           "LearningRateScheduler", "ModelCheckpoint", "ProgbarLogger", "ReduceLROnPlateau", "RemoteMonitor",
           "SwapEMAWeights", "TensorBoard", "TerminateOnNaN"]
