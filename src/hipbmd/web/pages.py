"""The HTML of the web page: the upload form and a result, plain HTML with no scripts to build."""

from __future__ import annotations

from html import escape

from hipbmd.bmd.record import EstimateRecord

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .3rem .6rem; }
.note { color: #a33; } img { max-width: 100%; border: 1px solid #ccc; }
"""
DISCLAIMER = (
    "hipbmd is a research tool, not a medical device: its numbers must not be used to treat a patient."
)


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{escape(title)}</h1>{body}"
        f"<p><small>{escape(DISCLAIMER)}</small></p></body></html>"
    )


def upload_form(max_upload_mb: int, problem: str | None = None) -> str:
    """The start page: a radiograph upload (DICOM, or an image with its pixel spacing)."""
    error = f"<p class='note' id='problem'>{escape(problem)}</p>" if problem else ""
    return _page(
        "hipbmd: bone density from a hip radiograph",
        f"""{error}<form action="/estimate" method="post" enctype="multipart/form-data">
<p><label>Radiograph (DICOM, or PNG/JPEG/TIFF, at most {max_upload_mb} MB):
<input type="file" name="radiograph" id="radiograph" required></label></p>
<p><label>Pixel spacing of a PNG/JPEG/TIFF at the detector, mm:
<input type="number" name="spacing_mm" id="spacing_mm" step="0.001" min="0.05" max="2"></label></p>
<p><label><input type="checkbox" name="keep" id="keep" value="1"> keep my upload on the server</label></p>
<p><button type="submit" id="estimate">Estimate</button></p></form>""",
    )


def result_page(record: EstimateRecord, job: str, files: list[str]) -> str:
    """A result: the overlay, the numbers and flags per hip, the reason when there are none, downloads."""
    parts = [f"<p id='reason' class='note'>{escape(record.reason)}</p>" if record.reason else ""]
    if record.overlay:
        parts.append(f"<p><img id='overlay' src='/jobs/{job}/overlay.png' alt='what was measured'></p>")
    rows = []
    for hip in record.hips:
        for m in hip.measurements:
            value = "withheld" if m.abmd_g_cm2 is None else f"{m.abmd_g_cm2:.3f} g/cm2"
            interval = (
                "" if m.interval_g_cm2 is None else f"{m.interval_g_cm2[0]:.3f}–{m.interval_g_cm2[1]:.3f}"
            )
            chance = "" if m.p_osteoporosis is None else f"{m.p_osteoporosis:.2f}"
            cells = (hip.side, m.roi, value, interval, m.t_score, chance, m.who_category or "withheld")
            rows.append("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
        if hip.category is not None:
            line = escape(hip.category.describe())
            rows.append(f"<tr class='category'><td>{escape(hip.side)}</td><td colspan='6'>{line}</td></tr>")
        flags = "; ".join(hip.flags) or "none"
        rows.append(f"<tr><td>{escape(hip.side)}</td><td colspan='6'>flags: {escape(flags)}</td></tr>")
    if rows:
        titles = ("side", "region", "aBMD", "95 % interval", "T-score", "P(T ≤ −2.5)", "WHO")
        head = "<tr>" + "".join(f"<th>{title}</th>" for title in titles) + "</tr>"
        parts.append(f"<table id='numbers'>{head}{''.join(rows)}</table>")
    for note in record.input_notes:
        parts.append(f"<p class='note'>note: {escape(note)}</p>")
    links = " · ".join(f"<a href='/jobs/{job}/{escape(name)}' download>{escape(name)}</a>" for name in files)
    parts.append(f"<p id='downloads'>Download: {links}</p><p><a href='/'>Another radiograph</a></p>")
    return _page("hipbmd: result", "".join(parts))
