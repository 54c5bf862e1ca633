"""smsseg: ML-driven customer segmentation and churn scoring for SMS marketing.

Data flows one way: ``data`` → ``features`` → ``models`` → ``tiers`` → ``segments`` →
``activation`` → ``readout``. ``cli`` parses arguments and calls these; ``report`` renders.
"""

__version__ = "0.1.0"
