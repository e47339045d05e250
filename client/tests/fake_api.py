"""A fake orderstate API for the client's tests, behind httpx.MockTransport."""


class FakeApi:
    """Answers requests from a list, one per call (a response, an exception to raise, or
    a function of the request), recording what was sent."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []

    def __call__(self, request):
        self.requests.append(request)
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer
