"""The weekly catalogue re-sends every product: an incremental fct_orders run re-prices only the orders of products
whose category or unit_price changed (README "Incremental design")."""

from datetime import timedelta


def test_resent_catalogue_reprices_only_changed_products(built_copy):
    env = built_copy
    [(changed, unchanged)] = env.sql(
        "select min(product_id), max(product_id) from (select distinct product_id from marts.fct_orders"
        " where unit_price is not null)"
    )
    # a marker on an order of the unchanged product: it survives only if the run leaves that order alone
    [(marked,)] = env.sql("select min(order_id) from marts.fct_orders where product_id = ?", [unchanged])
    env.sql("update marts.fct_orders set gross_margin = -12345 where order_id = ?", [marked])
    # the next weekly catalogue: every product again (a later load), one of them with a new price
    [(last_load, last_loaded_at)] = env.sql("select max(_load_date), max(_loaded_at) from raw.products")
    env.sql(
        """
        insert into raw.products
        select * replace (
            case when product_id = ? then unit_price * 2 else unit_price end as unit_price,
            cast(? as date) as _load_date,
            cast(? as timestamp) as _loaded_at,
            'products/resend.parquet' as _source_file)
        from (select * from raw.products qualify row_number() over (
                  partition by product_id order by _load_date desc, _loaded_at desc, _source_file desc) = 1)
        """,
        [changed, last_load + timedelta(days=7), last_loaded_at + timedelta(days=7)],
    )

    env.dbt("run", "--select", "stg_products", "fct_orders")

    [(kept,)] = env.sql("select gross_margin from marts.fct_orders where order_id = ?", [marked])
    assert kept == -12345, "an order of a product whose price and category did not change was re-priced"
    wrong = env.sql(
        """
        select count(*) from marts.fct_orders o join staging.stg_products p using (product_id)
        where o.product_id = ? and (o.unit_price <> p.unit_price
              or abs(o.gross_margin - (o.total_amount - p.unit_price * o.quantity)) > 1e-9)""",
        [changed],
    )
    assert wrong == [(0,)], "the orders of the re-priced product keep the old price"
    [(repriced,)] = env.sql("select count(*) from marts.fct_orders where product_id = ?", [changed])
    assert repriced > 0


def test_category_change_recomputes_only_its_customers_affinity(built_copy):
    env = built_copy
    # a product of a category with other products (the catalogue keeps its number of categories), bought (completed)
    [(product, old_category)] = env.sql("""
        select p.product_id, p.category from staging.stg_products p
        join staging.stg_orders o on o.product_id = p.product_id and o.order_status = 'completed'
        where p.category in (select category from staging.stg_products group by category having count(*) > 1)
        group by 1, 2 order by count(*) desc, 1 limit 1""")
    [(new_category,)] = env.sql("select min(category) from staging.stg_products where category <> ?", [old_category])
    [(buyer,)] = env.sql(
        "select min(customer_id) from staging.stg_orders where product_id = ? and order_status = 'completed'", [product]
    )
    [(other,)] = env.sql(
        """
        select min(customer_id) from staging.stg_orders where order_status = 'completed' and customer_id not in
            (select customer_id from staging.stg_orders where product_id = ?)""",
        [product],
    )
    env.sql(
        "update intermediate.int_product_affinity set avg_qty_per_order = -1 where customer_id in (?, ?)",
        [buyer, other],
    )
    [(last_load, last_loaded_at)] = env.sql("select max(_load_date), max(_loaded_at) from raw.products")
    env.sql(
        """
        insert into raw.products
        select * replace (
            case when product_id = ? then ? else category end as category,
            cast(? as date) as _load_date,
            cast(? as timestamp) as _loaded_at,
            'products/resend.parquet' as _source_file)
        from (select * from raw.products qualify row_number() over (
                  partition by product_id order by _load_date desc, _loaded_at desc, _source_file desc) = 1)
        """,
        [product, new_category, last_load + timedelta(days=7), last_loaded_at + timedelta(days=7)],
    )

    env.dbt("run", "--select", "stg_products", "int_product_affinity")

    qty = dict(
        env.sql(
            "select customer_id, avg_qty_per_order from intermediate.int_product_affinity where customer_id in (?, ?)",
            [buyer, other],
        )
    )
    assert qty[other] == -1, "a customer without orders of the changed product was recomputed"
    assert qty[buyer] >= 1, "the buyer of the product whose category changed was not recomputed"
