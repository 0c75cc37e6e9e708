"""The evidence-template catalog: data files validated into strict models."""

from service.catalog.loader import CatalogError, get_catalog, get_template, load_catalog
from service.catalog.schema import Template

__all__ = ["CatalogError", "Template", "get_catalog", "get_template", "load_catalog"]
