"""``hipbmd serve-web``: a small web page to estimate one radiograph at a time (Starlette, plain HTML).

:mod:`~hipbmd.web.app` builds the application; :mod:`~hipbmd.web.pages` writes its HTML. Importing this
package imports neither Starlette nor torch.
"""
