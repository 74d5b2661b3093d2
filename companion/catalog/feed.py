"""The catalog's products as feeds give them: ``read_feed`` reads every format the catalog knows
(companion/catalog/feeds/), one module per format."""

from companion.catalog.feeds import FORMATS, detect_format, read_feed
from companion.catalog.feeds.product import (
    AGE_GROUPS,
    FIELDS,
    GENDERS,
    REQUIRED_FIELDS,
    FeedOptions,
    FeedProblem,
    Product,
    age_group_of,
    parse_columns,
)

REQUIRED_COLUMNS = REQUIRED_FIELDS

__all__ = [
    "AGE_GROUPS", "FIELDS", "FORMATS", "GENDERS", "REQUIRED_COLUMNS", "FeedOptions", "FeedProblem",
    "Product", "age_group_of", "detect_format", "parse_columns", "read_feed",
]
