"""The diversity / accuracy trade-off of re-ranking on the demo data (rs.Diversify).

Prints, per setting, NDCG@10 and intra-list diversity (rs.evaluate(..., beyond=True)), the
mean number of categories per list, and the cost in NDCG against the plain ranking.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import recsys as rs

SETTINGS = {
    "plain": None,
    "mmr category 0.9": rs.Diversify(by="category", lambda_=0.9),
    "mmr category 0.7": rs.Diversify(by="category", lambda_=0.7),
    "mmr category 0.5": rs.Diversify(by="category", lambda_=0.5),
    "cap brand 2": rs.Diversify(max_per={"brand": 2}),
    "cap brand 1": rs.Diversify(max_per={"brand": 1}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="ItemKNN", choices=["ItemKNN", "ALS", "EASE"])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    ds = rs.datasets.demo()
    train, test = rs.split.random(ds.interactions, test_size=0.2, seed=42)
    model = getattr(rs, args.model)().fit(train)
    model.set_item_attributes(ds.items[["category", "brand"]])
    rows = []
    for name, diversify in SETTINGS.items():
        options = {} if diversify is None else {"diversify": diversify}
        result = rs.evaluate(model, test, k=10, beyond=True, recommend_options=options)
        recs = model.recommend(list(result.per_user.index), k=10, **options).to_pandas()
        categories = (recs.merge(ds.items[["category"]], left_on="item", right_index=True)
                      .groupby("user")["category"].nunique().mean())
        rows.append({"setting": name, "ndcg@10": result.summary["ndcg@10"],
                     "diversity@10": result.summary["diversity@10"],
                     "categories per list": categories})
    base = rows[0]["ndcg@10"]
    print(f"{'setting':<18} {'ndcg@10':>8} {'cost':>7} {'diversity@10':>13} {'categories':>11}")
    for row in rows:
        row["ndcg cost"] = base - row["ndcg@10"]
        print(f"{row['setting']:<18} {row['ndcg@10']:>8.4f} {row['ndcg cost']:>7.4f} "
              f"{row['diversity@10']:>13.4f} {row['categories per list']:>11.2f}")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
