from django.contrib.auth.decorators import login_required
from django.shortcuts import render


@login_required
def home(request):
    """Placeholder until the dashboard lands: says so, and links to the admin."""
    return render(request, "dashboard/placeholder.html")
