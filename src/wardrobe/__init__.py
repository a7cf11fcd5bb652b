"""Lightning + Hydra training-and-serving framework for a digital wardrobe."""

__version__ = "0.1.0"
