"""Image data: safe reading, quality statistics, importers and the bundled demo sets."""
