"""smsseg: ML-driven customer segmentation and churn scoring for SMS marketing.

Data flows one way: ``data`` → ``features`` → ``models`` → ``tiers`` → ``segments`` →
``activation`` → ``readout``. ``cli`` parses arguments and calls these; ``report`` renders.
"""

__version__ = "0.1.0"

from smsseg.runtime import passive_openmp

# before LightGBM or scikit-learn load their OpenMP runtime: idle threads sleep, not spin
# (two jobs sharing the cores ran 20-40x slower spinning against each other; docs/performance.md)
passive_openmp()
