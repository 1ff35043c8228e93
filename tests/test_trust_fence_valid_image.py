import os

import pytest
from PIL import Image

from handouts import paths
from handouts.engines import weasy
from handouts.errors import HandoutsError


def _render(html: str):
    return weasy.render(html, paths.layouts_dir() / "handout", ("Noto Sans",), [], tagged=False)


@pytest.mark.parametrize("how", ["file-url", "relative"])
def test_a_valid_image_outside_layouts_and_assets_is_not_read(tmp_path, how):
    """A target the renderer could actually use: a refusal cannot come from a decode error."""
    png = tmp_path / "outside.png"
    Image.new("RGB", (4, 4), (255, 0, 0)).save(png)
    src = f"file://{png}" if how == "file-url" else os.path.relpath(png, paths.layouts_dir() / "handout")
    html = f'<html lang="en"><head><title>t</title></head><body><img src="{src}" alt="x"></body></html>'
    with pytest.raises(HandoutsError):
        _render(html)
