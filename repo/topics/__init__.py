"""Topics: trials on one question harmonised to one dictionary, pooled into versions, compared and meta-analysed."""
