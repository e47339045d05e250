"""Every change of an order, trade or failed buy: plain functions, one module per topic."""
