"""IMDB movie reviews: 25,000 training and 25,000 test reviews labeled by sentiment (1 positive,
0 negative), each a list of word indexes; a word's index is its frequency rank in the data set."""
import json
import os

import numpy as np

from . import _files

_BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
_NPZ_SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
_WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"  # Keras publishes no SHA-256 for this file


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3):
    """Returns `(x_train, y_train), (x_test, y_test)` as Keras does: x a 1-D object array of lists
    of word indexes, y the labels as stored in `imdb.npz`.

    path: as in Keras, the name of the `imdb.npz` file in the data folders (see
        `fastfit.datasets._files`), or a path to it.
    num_words: keep the `num_words` most frequent words (indexes below it, after the shift by
        `index_from`); others become `oov_char`. None (or 0) keeps all but the largest index, as
        Keras does.
    skip_top: the `skip_top` most frequent words (indexes below it) become `oov_char` too.
    maxlen: drop the reviews of `maxlen` words or more (start mark included); None keeps all.
    seed: shuffles the training reviews, then the test reviews, with `np.random.RandomState(seed)`.
    start_char: prepended to every review (None: nothing).
    oov_char: replaces the words cut by `num_words` or `skip_top` (None: they are dropped).
    index_from: added to every word index, leaving the indexes below it for marks.

    Example::

        (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(num_words=10000)
        word = {i + 3: w for w, i in keras.datasets.imdb.get_word_index().items()}
        print(" ".join(word.get(i, "?") for i in x_train[0][1:]))
    """
    folder, name = os.path.split(path)
    folder, _ = _files.find("imdb", [(name,)], [(_BASE_URL + "imdb.npz", _NPZ_SHA256)], folder)
    arrays = _files.read_npz(os.path.join(folder, name))
    rng = np.random.RandomState(seed)
    splits = []
    for part in ("train", "test"):
        x, y = arrays["x_" + part], arrays["y_" + part]
        order = np.arange(len(x))
        rng.shuffle(order)  # one generator for both parts, train first, so the order matches Keras'
        start = [] if start_char is None else [start_char]
        x, y = [start + [w + index_from for w in x[i]] for i in order], y[order]
        if maxlen:
            keep = [i for i, seq in enumerate(x) if len(seq) < maxlen]
            x, y = [x[i] for i in keep], y[keep]
        splits.append((x, y))
    if maxlen and not (splits[0][0] and splits[1][0]):
        raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
                         "Increase maxlen.")
    # Keras takes the largest index as the bound and keeps only indexes below it, so that word is
    # out of vocabulary even with num_words=None; the same data needs the same rule.
    num_words = num_words or max(w for x, _ in splits for seq in x for w in seq)
    if oov_char is None:
        splits = [([[w for w in seq if skip_top <= w < num_words] for seq in x], y) for x, y in splits]
    else:
        splits = [([[w if skip_top <= w < num_words else oov_char for w in seq] for seq in x], y)
                  for x, y in splits]
    (x_train, y_train), (x_test, y_test) = splits
    return (_sequences(x_train), y_train), (_sequences(x_test), y_test)


def get_word_index(path="imdb_word_index.json"):
    """Returns the dict from each word to its index in `load_data`'s reviews, before the shift by
    `index_from`: the most frequent word has index 1.

    path: as in Keras, the name of `imdb_word_index.json` in the data folders, or a path to it.

    Example::

        word = {i: w for w, i in keras.datasets.imdb.get_word_index().items()}
        print(word[1])  # the most frequent word
    """
    folder, name = os.path.split(path)
    folder, _ = _files.find("imdb", [(name,)], [(_BASE_URL + "imdb_word_index.json", _WORD_INDEX_MD5)], folder)
    with open(os.path.join(folder, name), encoding="utf-8") as f:
        return json.load(f)


def _sequences(seqs):
    """A 1-D object array of the lists, even when they all have one length (np.array would make a 2-D one)."""
    return np.fromiter(seqs, dtype=object, count=len(seqs))

