"""Django's error reports (the DEBUG page, the 500 log's report) without credentials
(settings.DEFAULT_EXCEPTION_REPORTER and DEFAULT_EXCEPTION_REPORTER_FILTER).

Django's SafeExceptionReporterFilter hides settings and META keys by name (KEY, SECRET, TOKEN,
PASS...); DATABASE_URL and any other *_URL carry their password inside the value, which it shows.
"""

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from core.observability.credentials import credentials_cleanse


def _cleansed(value):
    """value with URL passwords removed from every string in it; other objects whose text holds
    one are shown as their cleansed repr."""
    if isinstance(value, str):
        return credentials_cleanse(value)
    if isinstance(value, dict):
        return {key: _cleansed(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cleansed(item) for item in value)
    text = repr(value)
    cleansed = credentials_cleanse(text)
    return value if cleansed == text else cleansed


class CredentialsReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus passwords inside values: in settings, in the request's META (which
    holds the process environment under runserver) and in the frames' local variables."""

    def cleanse_setting(self, key, value):
        return _cleansed(super().cleanse_setting(key, value))

    def get_safe_request_meta(self, request):
        meta = super().get_safe_request_meta(request)
        return {key: _cleansed(value) for key, value in meta.items()}

    def get_post_parameters(self, request):
        return _cleansed(super().get_post_parameters(request))

    def get_traceback_frame_variables(self, request, tb_frame):
        return [
            (name, _cleansed(value))
            for name, value in super().get_traceback_frame_variables(request, tb_frame)
        ]


class CredentialsExceptionReporter(ExceptionReporter):
    """The whole report, cleansed once more as text: the exception's own message (a driver's
    error may quote its connection string) is not a setting or a variable the filter sees."""

    def get_traceback_html(self):
        return credentials_cleanse(str(super().get_traceback_html()))

    def get_traceback_text(self):
        return credentials_cleanse(str(super().get_traceback_text()))
