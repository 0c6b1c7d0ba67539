"""deals: the sales process: deals, stages, proposals, orders, the funnel."""
