"""The token-count logic shared by processor and model: grids, layouts and counts."""

import pytest

from hf_ext.errors import HFExtError
from hf_ext.multimodal.hvfa.layout import (
    candidate_grids,
    crop_layout,
    num_visual_tokens,
    select_grid,
    visual_token_layout,
)


@pytest.mark.parametrize("grid", [(1, 1), (2, 3), (4, 1), (3, 3)])
def test_counts_match_the_papers_formulas(grid):
    n = grid[0] * grid[1]
    tokens = 64
    assert num_visual_tokens(grid, tokens, scales=1) == tokens
    assert num_visual_tokens(grid, tokens, scales=2) == (1 + n) * tokens
    assert num_visual_tokens(grid, tokens, scales=3, multiscale_mode="aggregate") == (1 + n) * tokens
    assert num_visual_tokens(grid, tokens, scales=3, multiscale_mode="concat") == (1 + 5 * n) * tokens
    assert len(crop_layout(grid, 3)) == 1 + 5 * n  # the encoder sees every crop either way


def test_layout_orders():
    assert crop_layout((1, 2), 3) == [
        ("global", 0, 0), ("base", 0, 0), ("base", 0, 1),
        ("fine", 0, 0), ("fine", 0, 1), ("fine", 0, 2), ("fine", 0, 3),
        ("fine", 1, 0), ("fine", 1, 1), ("fine", 1, 2), ("fine", 1, 3),
    ]  # fmt: skip
    assert visual_token_layout((1, 2), 3, "concat")[-1] == ("global", 0, 0)
    assert visual_token_layout((0, 0), 3) == [("global", 0, 0)]


def test_grid_selection_follows_shape_and_size():
    assert select_grid(400, 400, 400, 9) == (1, 1)
    assert select_grid(1200, 1200, 400, 9) == (3, 3)
    assert select_grid(400, 1200, 400, 9) == (1, 3)  # a wide receipt strip
    assert select_grid(1600, 400, 400, 9) == (4, 1)  # a tall one
    assert select_grid(10_000, 10_000, 400, 4) == (2, 2)  # capped by max_crops
    assert all(h * w <= 6 for h, w in candidate_grids(6))


def brute_force_grid(height, width, crop, max_crops):
    def iou(a, b):
        inter = min(a[0], b[0]) * min(a[1], b[1])
        return inter / (a[0] * a[1] + b[0] * b[1] - inter)

    scored = []
    for h in range(1, max_crops + 1):
        for w in range(1, max_crops + 1):
            if h * w <= max_crops:
                unit = (height * width) ** 0.5
                score = iou((height, width), (h * crop, w * crop)) + iou(
                    (height / unit, width / unit), (h / (h * w) ** 0.5, w / (h * w) ** 0.5)
                )
                scored.append((-round(score, 9), h * w, (h, w)))
    return min(scored)[2]


@pytest.mark.parametrize("size", [(300, 900), (1100, 850), (64, 96), (2000, 500), (37, 1000), (999, 1001)])
def test_grid_selection_matches_brute_force(size):
    assert select_grid(*size, 256, 9) == brute_force_grid(*size, 256, 9)


@pytest.mark.parametrize(
    "call",
    [
        lambda: num_visual_tokens((1, 1), 4, scales=4),
        lambda: num_visual_tokens((1, 1), 4, scales=3, multiscale_mode="stack"),
        lambda: crop_layout((0, 2), 3),
        lambda: select_grid(0, 10, 16, 4),
        lambda: candidate_grids(0),
    ],
)
def test_bad_input_is_a_user_error(call):
    with pytest.raises(HFExtError):
        call()
