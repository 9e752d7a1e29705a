"""Reviewing failures: error galleries by category, error rate per category, run comparison, label errors."""

from workbench.review.categories import (GROUPINGS, categories, category_table, confusion_categories, errors_in,
                                         quality_categories_of, tag_categories)
from workbench.review.compare import OUTCOMES, compare_by_category, compare_runs
from workbench.review.gallery import GalleryPage, gallery_page

__all__ = ["GROUPINGS", "OUTCOMES", "GalleryPage", "categories", "category_table", "compare_by_category",
           "compare_runs", "confusion_categories", "errors_in", "gallery_page", "quality_categories_of",
           "tag_categories"]
