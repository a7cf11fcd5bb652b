"""Photos: DeepFashion2-style scenes and product crops composed from rendered garments.

Scenes (``compose_scene``) hold 1-4 garments that DeepFashion2 annotates, in one of two
arrangements: *worn* (a loose "ghost mannequin": top above bottom or a dress, outerwear over
them, shoes below) or *flat-lay* (items spread on a surface, overlapping a little). Later
layers occlude earlier ones; a box is the extent of the *visible* pixels; a garment hidden
below ``MIN_VISIBLE`` of its area is taken out of the photo rather than annotated.

Footwear and accessories are not DeepFashion2 classes. As in real DeepFashion2 photos (shoes
and bags are in the picture, never annotated), they appear in scenes only as un-annotated
distractors (shoes under a worn outfit, a bag or watch on a flat-lay), so a detector learns
not to fire on them. Non-garment clutter (discs, boxes, cables) sits behind, and sometimes in
front of, the garments.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from wardrobe.taxonomy import CATEGORY_BY_NAME, DF2_CLASSES, categories_in_slot

from .background import KINDS, SHOP_KINDS, add_clutter, background
from .draw import render_at, render_garment
from .shapes import sketch_for
from .spec import FIT_WIDTH, GarmentSpec, sample_garment

MIN_VISIBLE = 0.15  # a garment less visible than this is removed from the photo
DF2_SLOTS = ("top", "bottom", "one_piece", "outerwear")
# dresses are rarer in worn outfits (one per outfit), so flat-lays favour them
FLAT_LAY_SLOT_WEIGHTS = (0.22, 0.22, 0.4, 0.16)


@dataclass
class Layer:
    """A rendered garment placed in a scene (``x0, y0`` = canvas top-left in the photo)."""

    spec: GarmentSpec
    rgb: np.ndarray
    mask: np.ndarray
    x0: int
    y0: int
    annotate: bool
    style: int = 0


@dataclass
class SceneItem:
    """An annotated garment of a scene: what DeepFashion2 records about it."""

    spec: GarmentSpec
    box: tuple[int, int, int, int]  # x1, y1, x2, y2 of the visible pixels (x2, y2 exclusive)
    polygons: list[list[float]]
    occlusion: int
    zoom_in: int
    scale: int
    viewpoint: int
    style: int


@dataclass
class Scene:
    """A composed photo and its annotated garments."""

    image: np.ndarray  # uint8 HxWx3 RGB
    items: list[SceneItem]
    source: str  # "shop" (plain backdrop) or "user"
    arrangement: str


# ---- garment sampling ------------------------------------------------------------------------
def slot_df2_classes(slot: str) -> tuple[str, ...]:
    """DeepFashion2 classes that garments of ``slot`` can appear as."""
    found = {c for cat in categories_in_slot(slot) for c in CATEGORY_BY_NAME[cat].df2_classes}
    return tuple(c for c in DF2_CLASSES if c in found)


def sample_slot_garment(rng: np.random.Generator, slot: str) -> GarmentSpec:
    """A garment of ``slot`` whose DeepFashion2 class is uniform over the slot's classes
    (balances rare classes such as short-sleeve outerwear)."""
    if slot not in DF2_SLOTS:
        return sample_garment(rng, _pick(rng, categories_in_slot(slot)))
    df2 = _pick(rng, slot_df2_classes(slot))
    options = [c for c in categories_in_slot(slot) if df2 in CATEGORY_BY_NAME[c].df2_classes]
    return sample_garment(rng, _pick(rng, options), df2)


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def extent_units(spec: GarmentSpec) -> tuple[float, float]:
    """(width, height) of a garment in body units (untilted)."""
    pts = sketch_for(spec, np.random.default_rng(spec.appearance_seed)).extent_points()
    size = (pts.max(axis=0) - pts.min(axis=0)) * np.array([FIT_WIDTH[spec.fit], 1.0])
    return float(size[0]), float(size[1])


# ---- layouts -------------------------------------------------------------------------------
def _at_anchor(spec, unit, rng, x, y, annotate=True, style=0) -> Layer:
    rgb, mask, anchor = render_at(spec, unit, rng)
    return Layer(spec, rgb, mask, round(x - anchor[0]), round(y - anchor[1]), annotate, style)


def _at_centre(spec, unit, rng, cx, cy, annotate=True, style=0, max_angle=6.0) -> Layer:
    rgb, mask, _ = render_at(spec, unit, rng, max_angle=max_angle)
    ys, xs = np.nonzero(mask)
    mx, my = (xs.min() + xs.max()) / 2, (ys.min() + ys.max()) / 2
    return Layer(spec, rgb, mask, round(cx - mx), round(cy - my), annotate, style)


def worn_layers(outfit: dict[str, GarmentSpec], shape, rng, styles=None) -> list[Layer]:
    """Top above bottom (or a dress), outerwear over them, shoes below; drawn back to front."""
    styles = styles or {}
    h, w = shape
    top, bottom, dress = outfit.get("top"), outfit.get("bottom"), outfit.get("one_piece")
    outer, shoes = outfit.get("outerwear"), outfit.get("footwear")
    upper = dress or top or outer
    heights = {k: extent_units(s)[1] for k, s in outfit.items()}
    widths = [extent_units(s)[0] for s in outfit.values()]
    upper_h = heights["one_piece" if dress else "top" if top else "outerwear"] if upper else 0.0
    total = (
        upper_h
        - (0.2 if upper and bottom else 0.0)
        + (heights["bottom"] if bottom else 0.0)
        + (0.5 if shoes else 0.0)
    )
    unit = min(rng.uniform(0.8, 0.94) * h / total, 0.92 * w / max(widths))
    if rng.uniform() < 0.12:
        unit *= rng.uniform(1.15, 1.45)  # zoomed in: garments run off the edge
    cx = w / 2 + rng.uniform(-0.06, 0.06) * w
    y = (h - total * unit) / 2 + rng.uniform(-0.03, 0.03) * h + 0.04 * unit
    layers = []
    waist_y = y + (upper_h - 0.2) * unit if upper else y
    end_y = waist_y + (heights["bottom"] * unit if bottom else 0.2 * unit)
    if bottom:
        layers.append(_at_anchor(bottom, unit, rng, cx, waist_y, style=styles.get("bottom", 0)))
    if shoes:
        for side in (-1, 1):
            layers.append(
                _at_centre(
                    shoes, unit, rng, cx + side * 0.24 * unit, end_y + 0.16 * unit, annotate=False
                )
            )
    for key in ("top", "one_piece", "outerwear"):
        if key in outfit and key != "footwear":
            layers.append(
                _at_anchor(
                    outfit[key],
                    unit,
                    rng,
                    cx,
                    y - (0.01 * unit if key == "outerwear" else 0),
                    style=styles.get(key, 0),
                )
            )
    return layers


def flat_lay_layers(specs: list[GarmentSpec], shape, rng, styles=None) -> list[Layer]:
    """Items spread over a grid of cells, jittered so that neighbours may overlap."""
    styles = styles or [0] * len(specs)
    h, w = shape
    n = len(specs)
    cols = 1 if n == 1 else 2
    rows = int(np.ceil(n / cols))
    cw, ch = w / cols, h / rows
    order = rng.permutation(n)
    layers = []
    for cell, k in enumerate(order):
        spec = specs[k]
        ew, eh = extent_units(spec)
        unit = min(cw / ew, ch / eh) * rng.uniform(0.7, 0.95)
        cx = (cell % cols + 0.5) * cw + rng.uniform(-0.12, 0.12) * cw
        cy = (cell // cols + 0.5) * ch + rng.uniform(-0.12, 0.12) * ch
        annotate = bool(CATEGORY_BY_NAME[spec.category].df2_classes)
        layers.append(_at_centre(spec, unit, rng, cx, cy, annotate, int(styles[k]), 12.0))
    return layers


# ---- composition -----------------------------------------------------------------------------
def _placed_mask(layer: Layer, shape) -> np.ndarray:
    """The layer's mask in photo coordinates (clipped to the photo)."""
    out = np.zeros(shape, bool)
    h, w = layer.mask.shape
    ys0, xs0 = max(0, layer.y0), max(0, layer.x0)
    ys1, xs1 = min(shape[0], layer.y0 + h), min(shape[1], layer.x0 + w)
    if ys1 > ys0 and xs1 > xs0:
        out[ys0:ys1, xs0:xs1] = layer.mask[
            ys0 - layer.y0 : ys1 - layer.y0, xs0 - layer.x0 : xs1 - layer.x0
        ]
    return out


def _paste(canvas: np.ndarray, layer: Layer) -> None:
    """Alpha-composite a layer (soft 1-px edge) onto the float canvas, in place."""
    h, w = layer.mask.shape
    ys0, xs0 = max(0, layer.y0), max(0, layer.x0)
    ys1, xs1 = min(canvas.shape[0], layer.y0 + h), min(canvas.shape[1], layer.x0 + w)
    if ys1 <= ys0 or xs1 <= xs0:
        return
    alpha = cv2.GaussianBlur(layer.mask.astype(np.float32), (3, 3), 0.6)
    alpha = np.maximum(alpha, layer.mask)[..., None]
    sl = (slice(ys0 - layer.y0, ys1 - layer.y0), slice(xs0 - layer.x0, xs1 - layer.x0))
    region = canvas[ys0:ys1, xs0:xs1]
    region[:] = region * (1 - alpha[sl]) + layer.rgb[sl] * alpha[sl]


def _visibility(layers: list[Layer], shape, front: np.ndarray):
    """Visible mask of each layer (what later layers and front clutter leave uncovered)."""
    cover = front > 127
    visible = [None] * len(layers)
    for i in range(len(layers) - 1, -1, -1):
        placed = _placed_mask(layers[i], shape)
        visible[i] = (placed & ~cover, int(placed.sum()))
        cover = cover | placed
    return visible


def _polygons(mask: np.ndarray) -> list[list[float]]:
    """Closed outer polygons (first point repeated) of a mask, largest first."""
    contours, _ = cv2.findContours(
        mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
    )
    polys = []
    for c in sorted(contours, key=cv2.contourArea, reverse=True):
        c = cv2.approxPolyDP(c, 1.0, True).reshape(-1, 2)
        if len(c) >= 3 and cv2.contourArea(c.astype(np.int32)) >= 4:
            pts = np.concatenate([c, c[:1]]).astype(float)
            polys.append([float(v) for v in pts.reshape(-1)])
    return polys


def _item(layer: Layer, vis: np.ndarray, in_image: int, shape, viewpoint: int) -> SceneItem:
    ys, xs = np.nonzero(vis)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    total = int(layer.mask.sum())
    hidden = 1 - vis.sum() / max(in_image, 1)
    cut = 1 - in_image / max(total, 1)
    area = (box[2] - box[0]) * (box[3] - box[1]) / (shape[0] * shape[1])
    return SceneItem(
        spec=layer.spec,
        box=box,
        polygons=_polygons(vis),
        occlusion=1 if hidden < 0.1 else 2 if hidden < 0.4 else 3,
        zoom_in=1 if cut < 0.03 else 2 if cut < 0.3 else 3,
        scale=1 if area < 0.1 else 2 if area < 0.35 else 3,
        viewpoint=viewpoint,
        style=layer.style,
    )


def compose_scene(layers: list[Layer], shape, rng, shop: bool, viewpoint: int) -> Scene:
    """Composite layers over a background; annotate the garments that stay visible enough."""
    bg_kind = SHOP_KINDS[int(rng.integers(2))] if shop else KINDS[int(rng.integers(len(KINDS)))]
    canvas = background(shape, rng, bg_kind)
    if not shop:
        add_clutter(canvas, rng, int(rng.integers(0, 6)))
    front, front_rgb = np.zeros(shape, np.uint8), None
    if not shop and rng.uniform() < 0.25:  # an object in front of the garments
        front_rgb = canvas.copy()
        add_clutter(front_rgb, rng, 1, front)
    visible = _visibility(layers, shape, front)
    kept = [
        i
        for i, (vis, _) in enumerate(visible)
        if vis.sum() >= MIN_VISIBLE * layers[i].mask.sum() and vis.any()
    ]
    if len(kept) < len(layers):
        layers = [layers[i] for i in kept]
        visible = _visibility(layers, shape, front)
    for layer in layers:
        _paste(canvas, layer)
    if front_rgb is not None:
        sel = front > 127
        canvas[sel] = front_rgb[sel]
    items = [
        _item(layer, vis, n, shape, viewpoint)
        for layer, (vis, n) in zip(layers, visible, strict=True)
        if layer.annotate
    ]
    image = finish(canvas, rng)
    arrangement = "worn" if viewpoint == 2 else "flat_lay"
    return Scene(image, items, "shop" if shop else "user", arrangement)


def finish(canvas: np.ndarray, rng: np.random.Generator, lighting: bool = True) -> np.ndarray:
    """Camera look: global exposure, slight blur, sensor noise; returns uint8 RGB."""
    img = canvas
    if lighting:
        img = img * rng.uniform(0.92, 1.08)
    sigma = rng.uniform(0.3, 0.8)
    img = cv2.GaussianBlur(img.astype(np.float32), (0, 0), sigma)
    img = img + rng.uniform(1.0, 3.5) * rng.standard_normal(img.shape, dtype=np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


# ---- product crops ---------------------------------------------------------------------------
def product_crop(spec: GarmentSpec, rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """A shop photo: the garment centred on a pale plain or gradient backdrop, soft shadow."""
    rgb, mask = render_garment(spec, size, rng)
    canvas = background((size, size), rng, SHOP_KINDS[int(rng.integers(2))], light=True)
    shadow = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), size / 40)
    shadow = np.roll(shadow, (int(size / 60) + 1, int(size / 80) + 1), axis=(0, 1))
    canvas *= (1 - 0.25 * shadow)[..., None]
    _paste(canvas, Layer(spec, rgb, mask, 0, 0, True))
    return finish(canvas, rng, lighting=False)


def scene_crop(spec: GarmentSpec, rng: np.random.Generator, size: int = 128) -> np.ndarray:
    """A garment as if cropped out of a user photo: busy background, a neighbour at the edge."""
    canvas = background((size, size), rng)
    add_clutter(canvas, rng, int(rng.integers(0, 4)))
    other = sample_slot_garment(rng, DF2_SLOTS[int(rng.integers(len(DF2_SLOTS)))])
    o_rgb, o_mask = render_garment(other, size, rng)
    shift = int(rng.choice([-1, 1]) * rng.uniform(0.72, 0.85) * size)
    dx, dy = (shift, 0) if rng.uniform() < 0.5 else (0, shift)
    _paste(canvas, Layer(other, o_rgb, o_mask, dx, dy, False))
    rgb, mask = render_garment(spec, size, rng, fill=(0.78, 0.9))
    _paste(canvas, Layer(spec, rgb, mask, 0, 0, True))
    return finish(canvas, rng, lighting=False)


# ---- consumer-to-shop pairs ------------------------------------------------------------------
PHOTO_SHAPES = ((320, 240), (320, 320), (240, 320))  # (height, width), long side 320


def _photo_shape(rng: np.random.Generator, long_side: int, worn: bool) -> tuple[int, int]:
    h, w = PHOTO_SHAPES[int(rng.integers(2 if worn else 3))]
    return int(h * long_side / 320), int(w * long_side / 320)


def _outfit_around(shared: GarmentSpec, rng: np.random.Generator) -> dict[str, GarmentSpec]:
    """A worn outfit that contains ``shared`` (top+bottom, or a dress; outerwear; shoes)."""
    outfit = {shared.slot: shared}
    if shared.slot == "outerwear" and rng.uniform() < 0.4:
        outfit["one_piece"] = sample_slot_garment(rng, "one_piece")
    elif shared.slot in ("top", "bottom", "outerwear"):
        for slot in ("top", "bottom"):
            if slot not in outfit and rng.uniform() < 0.85:
                outfit[slot] = sample_slot_garment(rng, slot)
    if shared.slot not in ("top", "outerwear") and rng.uniform() < 0.3:  # never hide ``shared``
        outfit["outerwear"] = sample_slot_garment(rng, "outerwear")
    if rng.uniform() < 0.4:
        outfit["footwear"] = sample_slot_garment(rng, "footwear")
    return outfit


def _user_scene(shared: GarmentSpec, rng: np.random.Generator, long_side: int) -> Scene:
    worn = rng.uniform() < 0.55
    shape = _photo_shape(rng, long_side, worn)
    if worn:
        outfit = _outfit_around(shared, rng)
        layers = worn_layers(outfit, shape, rng, {shared.slot: 1})
        return compose_scene(layers, shape, rng, shop=False, viewpoint=2)
    slots = rng.choice(DF2_SLOTS, size=int(rng.integers(0, 4)), p=FLAT_LAY_SLOT_WEIGHTS)
    others = [sample_slot_garment(rng, str(slot)) for slot in slots]
    if rng.uniform() < 0.4:
        others.append(sample_slot_garment(rng, _pick(rng, ("footwear", "accessory"))))
    layers = flat_lay_layers([shared, *others], shape, rng, [1] + [0] * len(others))
    return compose_scene(layers, shape, rng, shop=False, viewpoint=1)


def _shop_scene(shared: GarmentSpec, rng: np.random.Generator, long_side: int) -> Scene:
    worn = rng.uniform() < 0.5
    shape = _photo_shape(rng, long_side, worn)
    if worn:
        layers = worn_layers({shared.slot: shared}, shape, rng, {shared.slot: 1})
    else:
        layers = flat_lay_layers([shared], shape, rng, [1])
    return compose_scene(layers, shape, rng, shop=True, viewpoint=2 if worn else 1)


def scene_pair(rng_shared, rng_shop, rng_user, long_side: int = 320) -> tuple[Scene, Scene]:
    """A shop photo and a user photo of the same garment (``style`` 1 in both; others 0)."""
    shared = sample_slot_garment(rng_shared, _pick(rng_shared, DF2_SLOTS))
    return _shop_scene(shared, rng_shop, long_side), _user_scene(shared, rng_user, long_side)
