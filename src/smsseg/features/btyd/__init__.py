"""Buy-'til-you-die models: BG/NBD for purchases and P(alive), Gamma-Gamma for spend.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") gives, per customer,
the expected number of purchases over a horizon, P(alive) and P(no purchase over a horizon) from
three numbers: ``frequency`` (repeat purchases), ``recency`` and ``T``. Gamma-Gamma (Fader, Hardie
& Lee 2005b, "RFM and CLV") gives the expected average order value. Later stages use them as
features and as a churn / CLV baseline. Formulas and their verification: ``docs/btyd.md``.

Why not a library (checked 2026-11 on Python 3.11, numpy 2.4, pandas 3.1, in a throwaway venv):

- ``lifetimes`` 0.11.3 (last release 2020, unmaintained) installs and reproduces CDNOW, but pulls in
  ``autograd`` and ``dill`` (pickle-based model saving, against our no-pickle rule), warns on import
  under pandas 3 (it sets the removed ``mode.chained_assignment`` option, which pandas 4 drops), has
  no conditional P(no purchase in (T, T+t]), and its summary helper defaults the observation end to
  the last date in the data (a leak).
- ``btyd`` 0.1a1 (the only release on the index) pins ``autograd==1.4``, ``dill==0.3.5.1`` and
  ``pymc<5``; ``import btyd`` fails on Python 3.11 (autograd 1.4 imports ``inspect.getargspec``).
- ``pymc-marketing`` 0.19 is maintained but requires pymc, pytensor, arviz, xarray, preliz and
  seaborn: a probabilistic-programming stack for a seven-parameter maximum-likelihood fit.

The closed forms are short, so they are written here with scipy (``gammaln``, ``betaln``,
``hyp2f1``, ``minimize`` on log-parameters), vectorised over customers.

Layout: :mod:`~smsseg.features.btyd.summary` (``rfm_summary``),
:mod:`~smsseg.features.btyd.bgnbd` (``BetaGeoModel``), :mod:`~smsseg.features.btyd.gamma_gamma`
(``GammaGammaModel``), :mod:`~smsseg.features.btyd.features` (``btyd_features``); shared input
checks in ``_checks`` and the maximum-likelihood fitting (several starts, a fallback optimiser, an
automatic penalty on degenerate data, ``FitDiagnostics``) in ``_fitting``.
"""

from smsseg.features.btyd._checks import SUMMARY_COLUMNS as SUMMARY_COLUMNS
from smsseg.features.btyd._fitting import FitDiagnostics
from smsseg.features.btyd.bgnbd import BetaGeoModel
from smsseg.features.btyd.features import FEATURE_COLUMNS as FEATURE_COLUMNS
from smsseg.features.btyd.features import btyd_features
from smsseg.features.btyd.gamma_gamma import DAYS_PER_YEAR as DAYS_PER_YEAR
from smsseg.features.btyd.gamma_gamma import GammaGammaModel
from smsseg.features.btyd.summary import ORDER_COLUMNS as ORDER_COLUMNS
from smsseg.features.btyd.summary import rfm_summary

__all__ = ["BetaGeoModel", "FitDiagnostics", "GammaGammaModel", "btyd_features", "rfm_summary"]
