"""How inputs become network inputs, typed, and travelling with the model in its bundle.

* :class:`ImagePreprocessing`: resize, crop, normalise (classifier, tagger, CLIP image tower);
* :class:`TextPreprocessing`: the CLIP tokenizer and context length;
* :class:`DetectionPreprocessing`: the detector's letterbox and default thresholds;
* :class:`Preprocessing`: a bundle's whole block (``bundle.json``'s flat layout).

Below data and models: both build their inputs from these, so training and serving cannot drift.
"""

from wardrobe.preprocessing.bundle import Preprocessing
from wardrobe.preprocessing.detection import DetectionPreprocessing
from wardrobe.preprocessing.image import ImagePreprocessing, build_transforms, check_preprocessing
from wardrobe.preprocessing.text import TextPreprocessing, split_preprocessing, tokenize

__all__ = [
    "DetectionPreprocessing",
    "ImagePreprocessing",
    "Preprocessing",
    "TextPreprocessing",
    "build_transforms",
    "check_preprocessing",
    "split_preprocessing",
    "tokenize",
]
