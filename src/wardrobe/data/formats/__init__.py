"""Exact readers and writers for the real dataset formats.

* :mod:`.deepfashion2`: raw per-image ``annos/NNNNNN.json`` and the COCO conversion.
* :mod:`.yolo`: DeepFashion2 -> ultralytics YOLO layout, and YOLO label files.
* :mod:`.imagefolder`: garment crops into ``<root>/<class>/<file>.jpg`` and back.
* :mod:`.attributes`: attribute rows (JSONL/CSV) and the iMaterialist-Fashion mapping.
* :mod:`.polyvore`: Polyvore Outfits (Vasileva et al. 2018) splits, questions, metadata.
* :mod:`.report`: ``SkipReport``, the count of what a reader skipped and why.

Every reader returns its records and a ``SkipReport``; it never stops for one bad file.
"""

from wardrobe.data.formats.attributes import (
    AttributeRow,
    load_imaterialist_mapping,
    map_imaterialist_labels,
    read_attribute_rows,
    write_attribute_rows,
)
from wardrobe.data.formats.deepfashion2 import (
    Df2Image,
    Df2Item,
    read_df2_coco,
    read_df2_split,
    write_df2_annotation,
)
from wardrobe.data.formats.imagefolder import export_crops, scan_imagefolder
from wardrobe.data.formats.polyvore import (
    CompatQuestion,
    FitbQuestion,
    ItemMeta,
    Outfit,
    OutfitItem,
    PolyvoreSplit,
    read_categories_csv,
    read_compatibility,
    read_fitb,
    read_item_metadata,
    read_outfits,
    resolve_token,
    write_categories_csv,
    write_compatibility,
    write_fitb,
    write_item_metadata,
    write_outfits,
)
from wardrobe.data.formats.report import SkipReport
from wardrobe.data.formats.yolo import (
    ConversionSummary,
    YoloBox,
    convert_df2_to_yolo,
    read_yolo_labels,
    write_yolo_labels,
)

__all__ = [
    "AttributeRow",
    "CompatQuestion",
    "ConversionSummary",
    "Df2Image",
    "Df2Item",
    "FitbQuestion",
    "ItemMeta",
    "Outfit",
    "OutfitItem",
    "PolyvoreSplit",
    "SkipReport",
    "YoloBox",
    "convert_df2_to_yolo",
    "export_crops",
    "load_imaterialist_mapping",
    "map_imaterialist_labels",
    "read_attribute_rows",
    "read_categories_csv",
    "read_compatibility",
    "read_df2_coco",
    "read_df2_split",
    "read_fitb",
    "read_item_metadata",
    "read_outfits",
    "read_yolo_labels",
    "resolve_token",
    "scan_imagefolder",
    "write_attribute_rows",
    "write_categories_csv",
    "write_compatibility",
    "write_df2_annotation",
    "write_fitb",
    "write_item_metadata",
    "write_outfits",
    "write_yolo_labels",
]
