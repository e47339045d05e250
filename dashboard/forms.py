"""Forms for the staff actions: each one is confirmed on its own page before it runs."""

from django import forms


class CancelOrderForm(forms.Form):
    reason = forms.CharField(
        label="Reason (kept in the order's timeline)",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class ConfirmForm(forms.Form):
    """An action with nothing to ask but "are you sure"."""
