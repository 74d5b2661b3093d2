// Whose extension this is: the name, the companion's port and the colours. In the source tree it
// is Shop the Look's own; a retailer's branded build (scripts/package.sh brands/<name>, see
// docs/packaging.md) writes this file from the brand's brand.toml, so every build comes from
// this one tree (one line of JSON, as it writes it). The content scripts get the colour with each
// message (they cannot import).
export const BRAND = {"name": "Shop the Look", "port": 17317, "colours": {"accent": "#c2410c", "accent_soft": "#fbeee6", "background": "#f7f5f2"}};
