"""Crop grids and the visual-token layout: the one place that decides how many tokens an image costs.

An image is read at up to three scales (Park et al., NeurIPS 2024):

* ``global``: the whole page resized to one encoder-sized crop;
* ``base``: an ``n_h x n_w`` grid of encoder-sized crops (the grid is picked by :func:`select_grid`,
  after UReader's shape-adaptive cropping);
* ``fine``: the ``2n_h x 2n_w`` grid of crops of the page at twice the resolution.

:func:`crop_layout` lists the crops the vision encoder sees, in the order the processor stacks them;
:func:`visual_token_layout` lists the crops whose tokens the language model reads, in prompt order. The
processor writes one block of ``tokens_per_crop`` image tokens per entry of :func:`visual_token_layout` and
the model emits one block of features per entry of the same list, so the two cannot disagree.

Example:
    >>> select_grid(height=1100, width=850, crop_size=384, max_crops=9)
    (3, 2)
    >>> visual_token_layout((1, 2), scales=3, multiscale_mode="aggregate")
    [('base', 0, 0), ('base', 0, 1), ('global', 0, 0)]
    >>> num_visual_tokens((1, 2), 64, scales=3, multiscale_mode="concat")  # (1 + 2 + 8) crops
    704
"""

from __future__ import annotations

from hf_ext.errors import HFExtError

Grid = tuple[int, int]
Crop = tuple[str, int, int]

SCALES = (1, 2, 3)
MULTISCALE_MODES = ("aggregate", "concat")


def candidate_grids(max_crops: int) -> list[Grid]:
    """Every ``(n_h, n_w)`` with ``1 <= n_h * n_w <= max_crops``, fewest crops first."""
    if max_crops < 1:
        raise HFExtError(f"max_crops must be >= 1, got {max_crops}")
    grids = [(h, w) for h in range(1, max_crops + 1) for w in range(1, max_crops + 1) if h * w <= max_crops]
    return sorted(grids, key=lambda grid: (grid[0] * grid[1], grid))


def _iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """IoU of two rectangles ``(height, width)`` sharing their top-left corner."""
    inter = min(a[0], b[0]) * min(a[1], b[1])
    return inter / (a[0] * a[1] + b[0] * b[1] - inter)


def select_grid(height: int, width: int, crop_size: int, max_crops: int) -> Grid:
    """The base grid for a page: best resolution fit plus best shape fit, ties to fewer crops.

    Scores each candidate grid by the IoU of the page with the grid's pixel rectangle (resolution coherence)
    plus the IoU of both rectangles rescaled to unit area (shape similarity), as UReader's shape-adaptive
    cropping does; the exact scoring of HVFA's grid choice is not published, so this is a documented choice.
    """
    if height < 1 or width < 1:
        raise HFExtError(f"image size must be positive, got {height}x{width}")
    page = (float(height), float(width))
    page_unit = (height / (height * width) ** 0.5, width / (height * width) ** 0.5)
    best, best_score = (1, 1), -1.0
    for n_h, n_w in candidate_grids(max_crops):
        resolution = _iou(page, (n_h * crop_size, n_w * crop_size))
        shape = _iou(page_unit, (n_h / (n_h * n_w) ** 0.5, n_w / (n_h * n_w) ** 0.5))
        if resolution + shape > best_score + 1e-9:
            best, best_score = (n_h, n_w), resolution + shape
    return best


def _check(grid: Grid, scales: int, multiscale_mode: str) -> None:
    if scales not in SCALES:
        raise HFExtError(f"scales must be one of {SCALES}, got {scales}")
    if multiscale_mode not in MULTISCALE_MODES:
        raise HFExtError(f"multiscale_mode must be one of {MULTISCALE_MODES}, got {multiscale_mode!r}")
    if len(grid) != 2 or min(grid) < 0 or (0 in grid and tuple(grid) != (0, 0)):
        raise HFExtError(f"grid must be (0, 0) or two positive integers, got {tuple(grid)}")


def crop_layout(grid: Grid, scales: int) -> list[Crop]:
    """The crops the encoder sees for one image: global, then base row-major, then fine row-major.

    ``grid == (0, 0)`` or ``scales == 1`` means the global view only.
    """
    _check(grid, scales, "aggregate")
    n_h, n_w = grid
    crops: list[Crop] = [("global", 0, 0)]
    if scales >= 2 and n_h > 0:
        crops += [("base", r, c) for r in range(n_h) for c in range(n_w)]
    if scales == 3 and n_h > 0:
        crops += [("fine", r, c) for r in range(2 * n_h) for c in range(2 * n_w)]
    return crops


def visual_token_layout(grid: Grid, scales: int, multiscale_mode: str = "aggregate") -> list[Crop]:
    """The crops whose token blocks the language model reads, in prompt order (base, [fine], global).

    With ``multiscale_mode="aggregate"`` (HVFA) the fine level is pooled into the base level and costs no
    tokens; with ``"concat"`` (naive multi-scale) every fine crop gets its own block.
    """
    _check(grid, scales, multiscale_mode)
    n_h, n_w = grid
    if scales == 1 or n_h == 0:
        return [("global", 0, 0)]
    layout: list[Crop] = [("base", r, c) for r in range(n_h) for c in range(n_w)]
    if scales == 3 and multiscale_mode == "concat":
        layout += [("fine", r, c) for r in range(2 * n_h) for c in range(2 * n_w)]
    return layout + [("global", 0, 0)]


def num_visual_tokens(
    grid: Grid, tokens_per_crop: int, scales: int, multiscale_mode: str = "aggregate"
) -> int:
    """Image tokens one image costs in the prompt: ``len(visual_token_layout(...)) * tokens_per_crop``."""
    return len(visual_token_layout(grid, scales, multiscale_mode)) * tokens_per_crop
