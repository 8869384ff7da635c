"""Sequences as the recurrent estimators read them: the layout, missing steps, scaling."""

import numpy as np
from sklearn.utils.validation import check_array

#: ``scaling``: what the recurrent estimators do to the inputs before the network.
SCALINGS = ("channel", "series")


def as_sequences(X):
    """``(n, T, F)`` float array from 3-D ``X``, or from 2-D ``X`` read as univariate
    sequences ``(n, T)``. A step whose features are all NaN is a missing step (series of
    unequal lengths are NaN-padded); any other NaN, or an infinity, is a ValueError."""
    X = check_sequence_dims(check_array(X, allow_nd=True, dtype=np.float64, input_name="X",
                                        ensure_all_finite="allow-nan"))
    X = X[:, :, None] if X.ndim == 2 else X
    missing = np.isnan(X)
    if missing.any():
        steps = missing.all(axis=2)
        partial = missing.any(axis=2) & ~steps
        if partial.any():
            n, t = np.argwhere(partial)[0]
            raise ValueError(f"X has NaN in some but not all features of series {n} at step "
                             f"{t}: a step is either observed in every feature or missing "
                             "(all NaN, as padding of unequal lengths); impute partly "
                             "observed steps first")
        if steps.all(axis=1).any():
            n = int(np.argmax(steps.all(axis=1)))
            raise ValueError(f"X's series {n} has no observed step (every value is NaN)")
    if np.isinf(X).any():
        raise ValueError("X contains infinity; the recurrent estimators read finite values "
                         "and NaN for missing steps")
    return X


def check_sequence_dims(X):
    """``X`` itself when it is 2-D or 3-D, else a ValueError that says the layouts read."""
    if X.ndim not in (2, 3):
        raise ValueError(f"X must be (n_samples, n_timesteps, n_features) or 2-D univariate "
                         f"sequences; got {X.ndim} dimensions, shape {X.shape} (sktime and "
                         "aeon's (n_samples, n_channels, n_timepoints): from_sktime(X))")
    return X


def scaling_statistics(X, scaling):
    """``(center, scale)`` learned from sequences ``X`` ``(n, T, F)`` for ``scaling``:
    per feature over every observed step of every series for ``"channel"``; nothing to
    learn (``None, None``) for ``"series"`` or None. A constant feature keeps scale 1."""
    if scaling != "channel":
        return None, None
    return _mean_and_scale(X, axis=(0, 1))


def _mean_and_scale(X, axis, keepdims=False):
    """Mean and standard deviation of ``X``'s observed (non-NaN) values along ``axis``;
    a scale that is zero up to rounding of the mean becomes 1 (a constant stays put)."""
    mean = np.nanmean(X, axis=axis, keepdims=keepdims)
    std = np.nanstd(X, axis=axis, keepdims=keepdims)
    return mean, np.where(std > 1e-12 * np.maximum(np.abs(mean), 1.0), std, 1.0)


def scaled(X, scaling, center=None, scale=None):
    """``X`` ``(n, T, F)`` standardized: with ``(center, scale)`` learned at fit
    (``"channel"``), or each series per feature over its own observed steps
    (``"series"``: z-normalization, the UCR/UEA archive's convention); unchanged for None.
    Missing steps stay NaN."""
    if scaling == "channel":
        return (X - center) / scale
    if scaling == "series":
        mean, scale = _mean_and_scale(X, axis=1, keepdims=True)
        return (X - mean) / scale
    return X


def _series_list(X):
    """sktime/aeon's containers as a list of ``(n_timepoints, n_channels)`` arrays."""
    try:
        import pandas as pd
    except ImportError:  # pragma: no cover - pandas comes with sktime and aeon
        pd = None
    if pd is not None and isinstance(X, pd.DataFrame):
        # sktime's "nested_univ": one row per series, one column per channel, each cell
        # a pandas Series over time
        cells = X.to_numpy()
        if cells.ndim == 2 and cells.size and all(isinstance(c, pd.Series | np.ndarray)
                                                  for c in cells.ravel()):
            series = []
            for row in cells:
                lengths = {len(c) for c in row}
                if len(lengths) != 1:
                    raise ValueError("a nested DataFrame's channels must have one length per "
                                     f"series; got lengths {sorted(lengths)}")
                series.append(np.stack([np.asarray(c, dtype=np.float64) for c in row], 1))
            return series
        raise ValueError("a DataFrame passed to from_sktime must be sktime's nested layout "
                         "(one row per series, one column per channel, a Series in each cell)")
    if isinstance(X, list | tuple):
        series = []
        for item in X:
            if pd is not None and isinstance(item, pd.DataFrame):
                series.append(item.to_numpy(dtype=np.float64))  # sktime's df-list: (T, c)
                continue
            item = np.asarray(item, dtype=np.float64)
            if item.ndim == 1:
                item = item[None, :]
            if item.ndim != 2:
                raise ValueError("each series of a list passed to from_sktime must be "
                                 f"(n_channels, n_timepoints); got shape {item.shape}")
            series.append(item.T)  # aeon's np-list: (c, T)
        return series
    return None


def from_sktime(X):
    """sktime/aeon's collections -> physml's ``(n_samples, n_timepoints, n_channels)``.

    Reads a 3-D array ``(n_samples, n_channels, n_timepoints)`` (sktime's ``numpy3D``,
    aeon's default), a list of ``(n_channels, n_timepoints_i)`` arrays (aeon's unequal
    length collections), a list of ``(n_timepoints_i, n_channels)`` DataFrames (sktime's
    ``df-list``) or sktime's ``nested_univ`` DataFrame. Series of unequal length are
    padded at the end with NaN, which the recurrent estimators read as missing steps:
    the hidden state is carried over them unchanged, so a series is read to its own last
    step.

    Examples
    --------
    >>> import numpy as np
    >>> from physml.recurrent import from_sktime
    >>> from_sktime(np.zeros((5, 3, 100))).shape
    (5, 100, 3)
    >>> X = from_sktime([np.ones((2, 3)), np.ones((2, 5))])  # two series, 2 channels
    >>> X.shape
    (2, 5, 2)
    >>> np.isnan(X[0, 3:]).all()
    np.True_
    """
    series = _series_list(X)
    if series is None:
        X = np.asarray(X)
        if X.ndim != 3:
            raise ValueError("X must be (n_samples, n_channels, n_timepoints), a list of "
                             f"(n_channels, n_timepoints) arrays or a nested DataFrame; got "
                             f"shape {X.shape}")
        return np.ascontiguousarray(X.transpose(0, 2, 1))
    if not series:
        raise ValueError("from_sktime got no series")
    channels = {s.shape[1] for s in series}
    if len(channels) != 1:
        raise ValueError(f"every series must have the same channels; got {sorted(channels)}")
    out = np.full((len(series), max(len(s) for s in series), channels.pop()), np.nan)
    for i, s in enumerate(series):
        out[i, :len(s)] = s
    return out
