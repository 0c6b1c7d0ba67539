"""pricing: price types, prices, exchange rates and agreements (terms of sale)."""
