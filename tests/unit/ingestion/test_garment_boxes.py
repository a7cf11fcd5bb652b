"""Which detector boxes become garments: those at ``conf``, else the best one down to
``main_garment_conf``."""

from wardrobe.ingestion.pipeline import _garment_boxes
from wardrobe.models.detector import Detection


def _det(conf: float, x: float = 0.0) -> Detection:
    return Detection((x, 0.0, x + 50.0, 50.0), 0, "short_sleeved_shirt", conf)


def test_boxes_at_conf_are_kept_and_lower_ones_dropped_even_with_a_main_garment_threshold():
    found = [_det(0.9), _det(0.4, 60), _det(0.12, 120)]
    assert _garment_boxes(found, 0.25, 0.1) == found[:2]
    assert _garment_boxes(found, 0.25, None) == found[:2]


def test_nothing_at_conf_keeps_only_the_best_box_above_the_main_garment_threshold():
    found = [_det(0.11, 60), _det(0.2), _det(0.15, 120)]
    assert _garment_boxes(found, 0.25, 0.1) == [found[1]]


def test_without_a_main_garment_threshold_nothing_at_conf_is_no_garment():
    assert _garment_boxes([_det(0.2)], 0.25, None) == []
    assert _garment_boxes([], 0.25, 0.1) == []
