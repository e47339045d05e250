from django.apps import AppConfig


class OrderStateConfig(AppConfig):
    name = "orderstate"
    label = "orderstate"
    verbose_name = "Order state"
