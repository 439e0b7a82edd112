"""Files: image readers, file browser, headers, region and catalog files, settings storage."""
