"""Feeds as retailers have them: the same products read from GMC TSV, GMC XML, Shopify's
products.json and a CSV export come out the same, each format's own rules hold, and hostile or
broken feeds cost only their bad rows."""

from __future__ import annotations

import csv
import gzip
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np
import pytest
from usearch.index import Index

from companion.catalog.build import build_index
from companion.catalog.feed import (
    FeedOptions,
    FeedProblem,
    Product,
    age_group_of,
    detect_format,
    parse_columns,
    read_feed,
)
from companion.catalog.index import CatalogIndex
from companion.catalog.versions import IndexVersions
from companion.errors import LookError
from companion.inference.embedder import Embedder
from tests.support.data import CATALOG, requires_data
from tests.support.image_server import ImageServer

GMC_NAMESPACE = "http://base.google.com/ns/1.0"
CSV_COLUMNS = {  # a shop's own export: its column → the GMC field it holds
    "SKU": "id", "Name": "title", "URL": "link", "Picture": "image_link", "Type": "product_type",
    "Google category": "google_product_category", "Maker": "brand", "Sex": "gender",
    "Age": "age_group", "Colour": "color", "Cost": "price", "Stock": "availability",
}
SHOPIFY_GENDER_TAGS = {"female": "Women", "male": "Men", "unisex": "Unisex"}


def source_rows(count: int = 100) -> list[dict[str, str]]:
    """``count`` products spread over the whole catalog (every category, kids', out of stock)."""
    with (CATALOG / "feed.tsv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return rows[:: len(rows) // count][:count]


def write_gmc_tsv(folder: Path, rows: list[dict], image) -> Path:
    path = folder / "feed.tsv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t",
                                quoting=csv.QUOTE_NONE, quotechar=None, lineterminator="\n")
        writer.writeheader()
        writer.writerows({**row, "image_link": image(row)} for row in rows)
    return path


def write_gmc_xml(folder: Path, rows: list[dict], image) -> Path:
    fields = ("product_type", "google_product_category", "brand", "gender", "age_group", "color",
              "price", "availability")
    items = []
    for row in rows:
        google = "".join(f"<g:{name}>{escape(row[name])}</g:{name}>" for name in fields)
        items.append(f"<item><g:id>{row['id']}</g:id><title>{escape(row['title'])}</title>"
                     f"<link>{escape(row['link'])}</link>"
                     f"<g:image_link>{escape(image(row))}</g:image_link>{google}</item>")
    path = folder / "feed.xml"
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n'
                    f'<rss version="2.0" xmlns:g="{GMC_NAMESPACE}"><channel><title>Shop</title>\n'
                    + "\n".join(items) + "\n</channel></rss>\n", encoding="utf-8")
    return path


def write_shopify(folder: Path, rows: list[dict], image) -> Path:
    """Three sizes a product: the cheapest sold out (its price is not the product's), unless
    all are, as in the source's out-of-stock rows; the photo second in the list, first by
    position."""
    products = []
    for row in rows:
        amount = float(row["price"].split()[0])
        in_stock = row["availability"] == "in_stock"
        variants = [{"id": 1, "title": "XS", "price": f"{amount - 1:.2f}", "available": False,
                     "sku": f"{row['id']}-XS"}] if in_stock else []
        variants += [
            {"id": 2, "title": "S", "price": f"{amount:.2f}", "available": in_stock,
             "sku": f"{row['id']}-S", "barcode": "4006381333931"},
            {"id": 3, "title": "M", "price": f"{amount + 5:.2f}", "available": in_stock,
             "sku": f"{row['id']}-M"},
        ]
        tags = [SHOPIFY_GENDER_TAGS[row["gender"]], row["master_category"]]
        if row["age_group"] == "kids":
            tags.append("Kids")
        products.append({
            "id": int(row["id"]), "title": row["title"], "handle": f"p-{row['id']}",
            "vendor": row["brand"], "product_type": row["product_type"], "tags": ", ".join(tags),
            "variants": variants,
            "images": [{"position": 2, "src": image(row).replace("/img/", "/status/404/")},
                       {"position": 1, "src": image(row)}],
        })
    path = folder / "products.json"
    path.write_text(json.dumps({"products": products}), encoding="utf-8")
    return path


def write_csv(folder: Path, rows: list[dict], image) -> Path:
    path = folder / "export.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for row in rows:
            values = {**row, "image_link": image(row), "price": row["price"].split()[0]}
            writer.writerow(values[field] for field in CSV_COLUMNS.values())
    return path


def indexed(out: Path) -> dict[str, tuple]:
    """id → (title, category, gender, price, availability, age_group, brand, vector)."""
    version = IndexVersions(out).current()
    with sqlite3.connect(version / "products.sqlite") as db:
        db.row_factory = sqlite3.Row
        rows = list(db.execute("SELECT * FROM products"))
    vectors = {}
    for category in {row["category"] for row in rows}:
        index = Index.restore(str(version / f"{category}.usearch"), view=True)
        for row in rows:
            if row["category"] == category:
                vectors[row["id"]] = index.get(row["key"])
    return {row["id"]: (row["title"], row["category"], row["gender"], row["price"],
                        row["availability"], row["age_group"], row["brand"], vectors[row["id"]])
            for row in rows}


@requires_data
def test_the_same_100_products_come_out_the_same_from_every_format(tmp_path, store):
    rows = source_rows()
    embedder = Embedder(store)
    with ImageServer(CATALOG / "images") as cdn:
        image = lambda row: cdn.url(Path(row["image_link"]).name)  # noqa: E731
        feeds = {
            "gmc-tsv": (write_gmc_tsv(tmp_path, rows, image), FeedOptions()),
            "gmc-xml": (write_gmc_xml(tmp_path, rows, image), FeedOptions()),
            "shopify-json": (write_shopify(tmp_path, rows, image), FeedOptions(currency="EUR")),
            "csv": (write_csv(tmp_path, rows, image), FeedOptions(
                currency="EUR", columns={field: column for column, field in CSV_COLUMNS.items()})),
        }
        results = {}
        for kind, (feed, options) in feeds.items():
            assert detect_format(feed.read_bytes()[:4096]) == kind
            report = build_index(feed, tmp_path / kind, embedder, show_progress=False,
                                 feed_options=options)
            assert report.problems == [] and report.indexed == 100, kind
            assert report.downloads == "images: 100 downloaded, 0 unchanged", kind
            results[kind] = indexed(tmp_path / kind)
        assert len(cdn.downloads()) == 400, "each build fetched its own 100 photos over HTTP"
    expected = {row["id"]: row for row in rows}
    tsv = results["gmc-tsv"]
    assert set(tsv) == set(expected)
    assert {v[5] for v in tsv.values()} == {"adult", "kids"}
    assert {v[1] for v in tsv.values()} >= {"topwear", "bottomwear", "footwear", "dress", "bag"}
    for product_id, (title, _category, gender, price, availability, age, brand, _v) in tsv.items():
        row = expected[product_id]
        assert (title, gender, price, availability, age, brand) == (
            row["title"], row["gender"], row["price"], row["availability"],
            age_group_of(row["age_group"], row["title"]), row["brand"])
    for kind, products in results.items():
        assert set(products) == set(tsv), kind
        for product_id, values in products.items():
            assert values[:7] == tsv[product_id][:7], (kind, product_id)
            assert np.allclose(values[7], tsv[product_id][7], atol=1e-5), (kind, product_id)


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def products_and_problems(path: Path, options: FeedOptions | None = None):
    entries = list(read_feed(path, options))
    return ([e for e in entries if isinstance(e, Product)],
            [(e.where, e.message) for e in entries if isinstance(e, FeedProblem)])


def test_a_title_naming_a_childs_product_makes_it_a_kids_product_whatever_its_age_group(tmp_path):
    rows = [("k1", "Gini and Jony Girl's Vanida Blue Dungree Infant Kidswear", "adult"),
            ("k2", "Palm Tree Kids Boys Washed Blue Shorts", ""),
            ("k3", "Timberland Men Toddler Beige Casual Shoes", "adult"),
            ("a1", "Puma Women Green Navy Baby Blue Floater", "adult"),
            ("a2", "Levis Men Boyfriend Fit Jeans", "adult"),
            ("a3", "Enroute Teens Black Shoes", "kids")]
    feed = write(tmp_path / "feed.tsv", "id\ttitle\timage_link\tage_group\n" + "".join(
        f"{i}\t{title}\t{i}.jpg\t{age}\n" for i, title, age in rows))
    products, problems = products_and_problems(feed)
    assert problems == []
    assert {p.id: p.age_group for p in products} == {
        "k1": "kids", "k2": "kids", "k3": "kids", "a1": "adult", "a2": "adult", "a3": "kids"}, \
        "the feed's own kids stay kids; 'Baby Blue' and 'Boyfriend' name no child"


XML_ITEM = ("<item><g:id>{id}</g:id><g:title>{id} shirt</g:title>"
            "<g:image_link>https://cdn.example/{id}.jpg</g:image_link>"
            "<g:product_type>Apparel &gt; Topwear &gt; Shirts</g:product_type>"
            "<g:age_group>toddler</g:age_group><g:gtin>0123456789012</g:gtin>"
            "<g:mpn>MP-{id}</g:mpn><g:price>EUR 9.90</g:price>"
            "<g:availability>in stock</g:availability>"
            "<g:shipping><g:price>3.00 EUR</g:price></g:shipping></item>\n")


def test_gmc_xml_keeps_age_group_gtin_mpn_and_reads_only_each_items_own_fields(tmp_path):
    feed = write(tmp_path / "f.xml", f'<rss xmlns:g="{GMC_NAMESPACE}"><channel>\n'
                 + XML_ITEM.format(id="a1") + "</channel></rss>")
    (product,), problems = products_and_problems(feed)
    assert problems == []
    assert (product.id, product.category, product.age_group, product.gtin, product.mpn) == (
        "a1", "topwear", "kids", "0123456789012", "MP-a1")
    assert (product.price, product.availability) == ("9.90 EUR", "in_stock"), \
        "the item's price, not its shipping's; GMC's spellings normalised"


def test_an_atom_feed_and_plain_rss_fields_are_read_with_g_fields_first(tmp_path):
    feed = write(tmp_path / "f.atom", f'<feed xmlns="http://www.w3.org/2005/Atom" '
                 f'xmlns:g="{GMC_NAMESPACE}">\n<entry><id>tag:shop,1</id><g:id>7</g:id>'
                 '<title>Atom title</title><g:title>Google title</g:title>'
                 '<link href="https://shop.example/7"/>'
                 "<g:image_link>https://cdn.example/7.jpg</g:image_link></entry></feed>")
    (product,), _ = products_and_problems(feed)
    assert (product.id, product.title, product.link) == (
        "7", "Google title", "https://shop.example/7")


def test_a_feed_that_breaks_part_way_keeps_the_items_before_and_says_where(tmp_path):
    feed = write(tmp_path / "f.xml", f'<rss xmlns:g="{GMC_NAMESPACE}"><channel>\n'
                 + XML_ITEM.format(id="a1") + XML_ITEM.format(id="a2")
                 + "<item><g:id>a3</g:id><g:title>x & y</g:title></item>\n"
                 + XML_ITEM.format(id="a4") + "</channel></rss>")
    products, problems = products_and_problems(feed)
    assert [p.id for p in products] == ["a1", "a2"]
    ((where, message),) = problems
    assert where == "line 4" and "malformed" in message


@pytest.mark.parametrize(("declaration", "entity"), [
    # billion laughs: entities that expand to gigabytes
    ('<!DOCTYPE rss [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
     '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>',
     "&d;"),
    # an external entity: a local file's content in the index
    ('<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/passwd">]>', "&secret;"),
])
def test_hostile_xml_is_refused_before_any_entity_expands(tmp_path, declaration, entity):
    feed = write(tmp_path / "f.xml", f'<?xml version="1.0"?>\n{declaration}\n'
                 f'<rss xmlns:g="{GMC_NAMESPACE}"><channel>\n'
                 f"<item><g:id>1</g:id><g:title>{entity}</g:title>"
                 "<g:image_link>https://cdn.example/1.jpg</g:image_link></item>"
                 "</channel></rss>")
    products, problems = products_and_problems(feed)
    assert products == []
    ((where, message),) = problems
    assert where == "line 2" and "DTD" in message


def shopify_product(**fields) -> dict:
    return {"id": 42, "title": "Linen dress", "handle": "linen-dress", "vendor": "Acme",
            "product_type": "Dresses", "tags": "Summer, gender:female",
            "images": [{"src": "//cdn.shopify.example/files/dress.jpg", "position": 1}],
            "variants": [{"price": "59.00", "available": True, "sku": "LD-1", "barcode": "123"}],
            **fields}


def test_shopify_products_take_the_cheapest_variant_one_can_buy(tmp_path):
    variants = [
        {"price": "49.00", "available": False, "sku": "LD-XS", "barcode": "111"},
        {"price": "59.00", "available": True, "sku": "LD-S", "barcode": "222"},
        {"price": "64.00", "available": True, "sku": "LD-M", "barcode": "333"},
    ]
    sold_out = [{**v, "available": False} for v in variants]
    feed = write(tmp_path / "products.json", json.dumps({"products": [
        shopify_product(variants=variants),
        shopify_product(id=43, handle="sold-out", variants=sold_out),
    ]}))
    options = FeedOptions(currency="eur", shop_url="https://shop.example/")
    (dress, sold), problems = products_and_problems(feed, options)
    assert problems == []
    assert (dress.price, dress.availability, dress.gtin, dress.mpn) == (
        "59.00 EUR", "in_stock", "222", "LD-S")
    assert (sold.price, sold.availability) == ("49.00 EUR", "out_of_stock")
    assert (dress.category, dress.gender, dress.age_group, dress.brand) == (
        "dress", "female", "adult", "Acme")
    assert dress.image_link == "https://cdn.shopify.example/files/dress.jpg"
    assert dress.link == "https://shop.example/products/linen-dress"


def test_shopify_tags_give_category_gender_and_age_when_the_type_is_the_shops_own(tmp_path):
    feed = write(tmp_path / "products.json", json.dumps({"products": [
        shopify_product(product_type="New In", tags=["Boys", "Jeans", "age_group:toddler"]),
    ]}))
    (product,), _ = products_and_problems(feed)
    assert (product.category, product.gender, product.age_group) == (
        "bottomwear", "male", "kids")


def test_shopify_items_that_are_not_products_are_reported_by_item_number(tmp_path):
    feed = write(tmp_path / "products.json", json.dumps({"products": [
        shopify_product(), "not a product", shopify_product(id=44, images=[]),
        shopify_product(id=42),
    ]}))
    products, problems = products_and_problems(feed)
    assert [p.id for p in products] == ["42"]
    assert problems == [("item 2", "not a JSON object"),
                        ("item 3", "product 44 has no image_link"),
                        ("item 4", "duplicate id 42")]


def test_a_csv_export_is_read_through_a_column_mapping_with_its_rows_lines(tmp_path):
    feed = write(tmp_path / "export.csv", "\ufeffSKU;Name;Picture;Category;Cost\n"
                 's1;"Shirt; blue";img/s1.jpg;Shirts;12,50\n'
                 's2;"Two-line\ntitle";img/s2.jpg;Jeans;30\n'
                 ";No id;img/x.jpg;Shirts;1\n"
                 "s4;No picture;;Shirts;1\n")
    options = FeedOptions(columns=parse_columns("id=sku, title=Name,image_link=picture,"
                                                "product_type=category,price=cost"),
                          currency="EUR")
    products, problems = products_and_problems(feed, options)
    assert [(p.id, p.title, p.category, p.price) for p in products] == [
        ("s1", "Shirt; blue", "topwear", "12,50 EUR"),
        ("s2", "Two-line\ntitle", "bottomwear", "30 EUR")]
    assert problems == [("line 5", "missing id"), ("line 6", "product s4 has no image_link")]


def test_a_hostile_row_costs_only_itself(tmp_path):
    feed = write(tmp_path / "feed.tsv", "id\ttitle\timage_link\n"
                 "1\tShirt\ta.jpg\n"
                 f"2\t{'x' * 2_000_000}\tb.jpg\n"
                 f"3\t{'y' * 70_000}\tc.jpg\n"
                 "4\tNUL \0 inside\td.jpg\n"
                 "5\tSkirt\te.jpg\n")
    products, problems = products_and_problems(feed)
    assert [p.id for p in products] == ["1", "4", "5"]
    assert [where for where, _ in problems] == ["line 3", "line 4"]
    assert "longer than 65536 characters" in problems[1][1]


def test_a_feed_whose_columns_are_not_found_names_the_mapping_option(tmp_path):
    feed = write(tmp_path / "export.csv", "sku,name,img\n1,shirt,a.jpg\n")
    with pytest.raises(LookError) as caught:
        list(read_feed(feed))
    assert caught.value.code == "feed_columns" and "--columns" in caught.value.message
    with pytest.raises(LookError) as caught:
        parse_columns("title=name,picture")
    assert caught.value.code == "bad_argument"


def test_json_lines_keep_their_line_numbers_and_reach_nested_values(tmp_path):
    feed = write(tmp_path / "feed.jsonl",
                 '{"sku": "j1", "name": "Skirt", "media": {"images": ["i/j1.jpg"]}}\n'
                 "\n"
                 "not json\n"
                 '["a", "list"]\n'
                 '{"sku": "j5", "name": "Boots", "media": {"images": ["i/j5.jpg"]},'
                 ' "gender": "Women", "age_group": "newborn"}\n')
    options = FeedOptions(columns=parse_columns("id=sku,title=name,image_link=media.images.0"))
    products, problems = products_and_problems(feed, options)
    assert [(p.line, p.id, p.image_link) for p in products] == [
        (1, "j1", "i/j1.jpg"), (5, "j5", "i/j5.jpg")]
    assert (products[1].gender, products[1].age_group) == ("female", "kids")
    assert [where for where, _ in problems] == ["line 3", "line 4"]


def test_the_format_is_found_from_the_content_not_the_name_and_gzip_is_opened(tmp_path):
    xml = (f'<rss xmlns:g="{GMC_NAMESPACE}"><channel>' + XML_ITEM.format(id="z1")
           + "</channel></rss>").encode()
    feed = tmp_path / "feed.txt"
    feed.write_bytes(gzip.compress(xml))
    (product,), _ = products_and_problems(feed)
    assert product.id == "z1"
    rows = "".join(f"{i}\tShirt {i}\timages/{i}.jpg\n" for i in range(20_000))
    feed.write_bytes(gzip.compress(f"id\ttitle\timage_link\n{rows}".encode())[:-2000])
    read = []
    with pytest.raises(LookError) as caught:  # a download of it that was cut short
        read.extend(read_feed(feed))
    assert caught.value.code == "feed_unreadable" and "its end" in caught.value.message
    assert len(read) > 1000, "the rows before the cut came through"
    assert detect_format(b'\xef\xbb\xbf  {"products": []}') == "shopify-json"
    assert detect_format(b'{"id": "1", "title": "t"}\n{"id": "2"}') == "jsonl"
    assert detect_format(b"id\ttitle\timage_link\n") == "gmc-tsv"
    with pytest.raises(LookError) as caught:
        detect_format(b"%PDF-1.7 binary")
    assert caught.value.code == "feed_format"


@requires_data
def test_index_build_reads_a_csv_through_columns_and_says_what_it_downloaded(tmp_path):
    with ImageServer(CATALOG / "images") as cdn:
        feed = write(tmp_path / "export.csv", "Ref,Name,Img,Kind,Cost\n"
                     f"1530,Track Jacket,{cdn.url('1530.jpg')},Jackets,144.99\n"
                     f"1566,Cap,{cdn.url('gone.jpg')},Caps,17.99\n"
                     f"1609,Sweatshirt,{cdn.url('1609.jpg')},Sweatshirts,39.99\n")
        result = subprocess.run(
            [sys.executable, "-m", "companion.cli", "index", "build", str(feed), "--out",
             str(tmp_path / "index"), "--index-by", "photo", "--currency", "EUR",
             "--columns", "id=Ref,title=Name,image_link=Img,product_type=Kind,price=Cost"],
            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"{feed}:3: skipped: image of 1566 unreadable: HTTP 404 Not Found" in result.stderr
    assert "Remote images: 2 downloaded, 0 unchanged, 1 failed." in result.stderr
    assert "Indexed 2 products" in result.stdout
    assert CatalogIndex(tmp_path / "index").product("1530")["price"] == "144.99 EUR"
