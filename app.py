"""Try a field list on one document before running it over millions: the Streamlit app.

    seqgpt ui --model DAMO-NLP/SeqGPT-560M          # or a local model folder
    streamlit run app.py -- --model /models/seqgpt-560m
    SEQGPT_MODEL=/models/seqgpt-560m streamlit run app.py

Left: the document (pasted text, or an uploaded PDF or text file).  Right: the model in
use, the editable field list (name, hint, type, required, confidence threshold), the
schema file (download as YAML/JSON, upload to load one back), the output format and the
Run button.  Below: the values highlighted in the text (click one to see where it came
from), the value table with confidences and offsets, rule violations, values below their
field's threshold, and the output as ``seqgpt extract`` prints it.

Without a model the app uses the untrained tiny demo model and says so on the page.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

import pandas as pd
import streamlit as st

from extractor.schema import Schema, SchemaError
from seqgpt import app_support as sup
from seqgpt.cli import render

EXAMPLE_TEXT = (
    "采购合同\n"
    "甲方：北京云杉科技有限公司\n"
    "乙方：上海海川贸易有限公司\n"
    "合同金额为人民币壹佰贰拾万元整（¥1,200,000.00）。\n"
    "本合同于2023年9月12日签订，有效期至2024年9月11日。\n"
    "联系人：张伟，电话：13812345678。\n"
)
EXAMPLE_FIELDS = "甲方, 乙方, 合同金额, 签约日期(YYYY-MM-DD), 联系电话"
FORMATS = {"JSON": "json", "Table": "table", "Markdown": "markdown"}

DOC_CSS = """
.seqgpt-doc { white-space: pre-wrap; word-break: break-word; line-height: 1.9; padding: .75rem 1rem;
  border: 1px solid rgba(128,128,128,.35); border-radius: .5rem; max-height: 34rem; overflow-y: auto;
  font-family: "Source Sans Pro", "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif; }
.seqgpt-mark { color: inherit; padding: 1px 0; border-radius: 3px; cursor: pointer; }
.seqgpt-mark.seqgpt-dropped { background: transparent !important; outline: 1px dashed #9ca3af; color: #6b7280; }
.seqgpt-mark.seqgpt-issue { text-decoration: underline wavy #dc2626; }
.seqgpt-mark:focus, .seqgpt-mark.seqgpt-picked { outline: 2px solid #2563eb; }
.seqgpt-context { white-space: pre-wrap; padding: .5rem .75rem; border-left: 3px solid #2563eb;
  background: rgba(37,99,235,.06); font-family: "WenQuanYi Micro Hei", sans-serif; }
.seqgpt-context mark { background: #fde68a; }
"""

DOC_JS = """
export default function(component) {
  const { data, parentElement, setTriggerValue } = component;
  let root = parentElement.querySelector('div.seqgpt-root');
  if (!root) {
    root = document.createElement('div');
    root.className = 'seqgpt-root';
    parentElement.appendChild(root);
  }
  if (root.getAttribute('data-html') !== data.html) {
    root.innerHTML = data.html;
    root.setAttribute('data-html', data.html);
  }
  root.querySelectorAll('mark.seqgpt-mark').forEach((m) => {
    m.classList.toggle('seqgpt-picked', m.getAttribute('data-key') === data.picked);
    const pick = (e) => { e.stopPropagation(); e.preventDefault(); setTriggerValue('picked', m.getAttribute('data-key')); };
    m.onclick = pick;
    m.onkeydown = (e) => { if (e.key === 'Enter' || e.key === ' ') pick(e); };
  });
}
"""


# ------------------------------------------------------------------ cached resources


@st.cache_resource(show_spinner="Loading the model (once per process) …", max_entries=2)
def load_extractor(model: str | None, device: str):
    from pipelines.config import ModelConfig

    threads = os.environ.get("SEQGPT_THREADS") or None
    return ModelConfig(
        model,
        device=device,
        quantize=os.environ.get("SEQGPT_QUANTIZE") or "auto",
        threads=int(threads) if threads else None,
    ).load()


@st.cache_resource(show_spinner=False)
def extraction_lock() -> threading.Lock:
    """One extraction at a time per process: sessions share the cached model."""
    return threading.Lock()


@st.cache_resource(show_spinner=False)
def document_component():
    """The clickable highlighted document (None where ``st.components.v2`` is missing)."""
    try:
        from streamlit.components.v2 import component
    except ImportError:  # older Streamlit: a static view, values are picked from the list
        return None
    return component("seqgpt_document", css=DOC_CSS, js=DOC_JS, isolate_styles=False)


# ------------------------------------------------------------------ state


def _state() -> Any:
    ss = st.session_state
    ss.setdefault("rows", [])
    ss.setdefault("editor_version", 0)
    ss.setdefault("doc_text", "")
    ss.setdefault("doc_source", "pasted text")
    ss.setdefault("doc_error", None)
    ss.setdefault("doc_ocr", None)
    ss.setdefault("doc_b_ocr", None)
    ss.setdefault("schema_message", None)
    ss.setdefault("schema_name", "")
    ss.setdefault("rules_text", "")
    ss.setdefault("records_text", "")
    ss.setdefault("summary_text", "")
    ss.setdefault("doc_b_text", "")
    ss.setdefault("doc_b_source", "pasted text")
    ss.setdefault("doc_b_error", None)
    ss.setdefault("compare", None)
    ss.setdefault("model", sup.model_from_argv(sys.argv[1:]) or "")
    ss.setdefault("out_fmt", "JSON")
    ss.setdefault("run", None)
    ss.setdefault("runs", 0)
    return ss


def _set_rows(rows: list[dict[str, Any]]) -> None:
    ss = st.session_state
    ss.rows = [dict(r) for r in rows]
    ss.editor_version += 1  # a fresh editor widget shows the new rows


def _load_upload(prefix: str) -> None:
    """Read the file of uploader ``<prefix>_upload`` into ``<prefix>_text`` / ``_source`` / ``_error``."""
    ss = st.session_state
    upload = ss.get(f"{prefix}_upload")
    ss[f"{prefix}_error"] = None
    if upload is None:
        return
    doc, error = sup.read_upload_doc(upload.getvalue(), upload.name)
    if error:
        ss[f"{prefix}_error"] = error
        return
    ss[f"{prefix}_text"] = doc.text
    ss[f"{prefix}_source"] = upload.name
    # read by OCR: keep its lines (page, box, score) and the file, to flag and show values on the page
    ocr = {k: doc.meta[k] for k in ("ocr", "ocr_lines") if k in doc.meta}
    ss[f"{prefix}_ocr"] = {"meta": ocr, "text": doc.text, "data": upload.getvalue()} if ocr else None


def _on_doc_upload() -> None:
    _load_upload("doc")


def _on_doc_b_upload() -> None:
    _load_upload("doc_b")


def _on_doc_edit() -> None:
    st.session_state.doc_source = "pasted text"
    st.session_state.doc_error = None


def _on_schema_upload() -> None:
    ss = st.session_state
    upload = ss.get("schema_upload")
    if upload is None:
        return
    try:
        schema = sup.load_schema_bytes(upload.getvalue(), upload.name)
    except SchemaError as exc:
        ss.schema_message = ("error", f"Cannot load {upload.name}: {exc}")
        return
    _set_rows(sup.schema_to_rows(schema))
    ss.schema_name = schema.name or ""
    ss.rules_text = "\n".join(str(r) for r in schema.rules)
    ss.records_text = "\n".join(str(r) for r in schema.records)
    ss.summary_text = schema.summary or ""
    ss.schema_message = ("success", f"Loaded {len(schema)} fields from {upload.name}.")


def _on_example() -> None:
    ss = st.session_state
    ss.doc_text = EXAMPLE_TEXT
    ss.doc_source = "example"
    ss.doc_error = None
    _set_rows(sup.parse_field_list(EXAMPLE_FIELDS))


# ------------------------------------------------------------------ the page


def _fields_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = {c: [r.get(c) for r in rows] for c in sup.ROW_COLUMNS}
    return pd.DataFrame(
        {
            "name": pd.Series(cols["name"], dtype="object"),
            "hint": pd.Series(cols["hint"], dtype="object"),
            "type": pd.Series(cols["type"], dtype="object"),
            "required": pd.Series([bool(x) for x in cols["required"]], dtype="bool"),
            # an empty cell (NaN) is the model's calibrated default, not 0
            "threshold": pd.Series(
                [float("nan") if x is None else float(x) for x in cols["threshold"]], dtype="float64"
            ),
            "choices": pd.Series(cols["choices"], dtype="object"),
            "more": pd.Series(cols["more"], dtype="object"),
            "description": pd.Series(cols["description"], dtype="object"),
        }
    )


def _clean_rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    for rec in frame.to_dict("records"):
        row = {}
        for c in sup.ROW_COLUMNS:
            v = rec.get(c)
            if v is None or (isinstance(v, float) and v != v):
                v = {"required": False, "threshold": None, "type": sup.AUTO_TYPE}.get(c, "")
            row[c] = v
        rows.append(row)
    return rows


def document_pane(ss) -> None:
    st.subheader("Document")
    st.file_uploader(
        "Upload a document: PDF, scan or photo (OCR), Word, e-mail, HTML or text",
        type=sup.UPLOAD_TYPES,
        key="doc_upload",
        on_change=_on_doc_upload,
        help="The file is read as the nightly job reads it (pages without a text layer and images through "
        "OCR); you can edit the text below.",
    )
    if ss.doc_error:
        st.error(_md(ss.doc_error))
    st.text_area(
        "Document text (paste text copied from PDFs, chat logs, web pages)",
        key="doc_text",
        height=320,
        on_change=_on_doc_edit,
        placeholder="Paste the document here, or upload a PDF above.",
    )
    n = len(ss.doc_text)
    st.caption(f"Source: {_md(ss.doc_source)} · {n:,} characters")


def model_section(ss):
    st.subheader("Model")
    st.text_input(
        "Model (hub id or local folder; empty: the bundled default model)",
        key="model",
        help="Loaded once per process and cached. Start the app with `seqgpt ui --model …` to preset it.",
    )
    model = ss.model.strip() or None
    device = os.environ.get(sup.DEVICE_ENV, "auto")
    try:
        ex = load_extractor(model, device)
    except Exception as exc:  # ModelLoadError and anything a broken model folder raises
        st.error(_md(f"Cannot load the model {model or '(demo)'}: {exc}"))
        return None
    info = ex.info or {}
    quantized = f" · {info['quantized']}" if info.get("quantized") else ""
    st.caption(
        f"In use: **{_md(sup.model_name(ex.model_id, ex.untrained))}** · {info.get('device', '?')} · "
        f"{info.get('dtype', '?')}{quantized} · attention {info.get('attention', '?')}"
    )
    if ex.untrained:
        st.warning(
            "**Untrained demo model.** This is a tiny model with random weights: values are verbatim "
            "spans of the document with real offsets, but they are not meaningful. Start the app with "
            "`seqgpt ui --model DAMO-NLP/SeqGPT-560M` (or a local model folder) for real extraction.",
            icon="⚠️",
        )
    return ex


def fields_section(ss) -> Schema | None:
    st.subheader("Fields")
    st.caption(
        "One row per field: a short noun phrase, an optional hint (`YYYY-MM-DD`, `18位`, `立项/招标/实施`, "
        "`姓名+职务`), the type (`auto` infers it), required, and the confidence threshold below which "
        "a value is dropped (empty: the model's calibrated default). Add rows at the bottom of the table, delete them with the row checkbox."
    )
    with st.form("add_fields", clear_on_submit=True, border=False):
        c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
        spec = c1.text_input("Add fields", placeholder="甲方, 乙方, 合同金额(万元)*, 签约日期(YYYY-MM-DD)")
        added = c2.form_submit_button("Add", width="stretch")
    table = st.container(key="fields_table")
    edited = table.data_editor(
        _fields_frame(ss.rows),
        key=f"fields_editor_{ss.editor_version}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_order=sup.ROW_COLUMNS,
        column_config={
            "name": st.column_config.TextColumn("name", required=True, help="The field name, e.g. 甲方"),
            "hint": st.column_config.TextColumn("hint", help="Sent to the model with the name: name(hint)"),
            "type": st.column_config.SelectboxColumn(
                "type", options=list(sup.TYPE_OPTIONS), default=sup.AUTO_TYPE, required=True
            ),
            "required": st.column_config.CheckboxColumn("required", default=False),
            "threshold": st.column_config.NumberColumn(
                "threshold",
                min_value=0.0,
                max_value=1.0,
                step=0.05,
                default=None,
                format="%.2f",
                help="Values below it are dropped; empty: the model's calibrated default",
            ),
            "choices": st.column_config.TextColumn("choices", help="Explicit choices, a/b/c"),
            "more": st.column_config.TextColumn(
                "more", help='Other keys as JSON: {"length": 18, "parts": ["姓名", "职务"]}'
            ),
            "description": st.column_config.TextColumn(
                "description", help="Documentation for people reading the schema; never sent to the model"
            ),
        },
    )
    rows = _clean_rows(edited)
    if added:
        try:
            new = sup.parse_field_list(spec)
        except SchemaError as exc:
            st.error(_md(f"Cannot add {spec!r}: {exc}"))
        else:
            _set_rows([r for r in rows if str(r.get("name") or "").strip()] + new)
            st.rerun()

    names = [str(r["name"]).strip() for r in rows if str(r.get("name") or "").strip()]
    c1, c2, c3, c4 = st.columns([3, 1, 1, 1], vertical_alignment="bottom")
    if ss.get("move_field") not in names:
        ss.move_field = names[0] if names else None
    moving = c1.selectbox("Reorder", names, key="move_field", disabled=not names)
    if c2.button("↑ Up", disabled=not names, width="stretch"):
        _set_rows(_move(rows, moving, -1))
        st.rerun()
    if c3.button("↓ Down", disabled=not names, width="stretch"):
        _set_rows(_move(rows, moving, +1))
        st.rerun()
    if c4.button("Clear", disabled=not rows, width="stretch", help="Remove every field"):
        _set_rows([])
        st.rerun()

    rules = [line.strip() for line in ss.rules_text.splitlines() if line.strip()]
    records = [line.strip() for line in ss.records_text.splitlines() if line.strip()]
    try:
        schema = sup.rows_to_schema(
            rows, name=ss.schema_name, rules=rules, records=records, summary=ss.summary_text
        )
    except SchemaError as exc:
        if names:
            st.error(_md(str(exc)))
        else:
            st.info("No fields yet: type a field list above (e.g. `甲方, 乙方, 合同金额`) and press Add.")
        return None
    summary = "Labels sent to the model: " + " / ".join(_md(line) for line in sup.prompt_lines(schema))
    if schema.rules:
        summary += " · rules: " + "; ".join(sup.md_code(str(r)) for r in schema.rules)
    if schema.records:
        summary += " · records: " + "; ".join(sup.md_code(str(r)) for r in schema.records)
    if schema.summary:
        summary += f" · summary: {sup.md_code(schema.summary)}"
    if schema.name:
        summary += f" · schema name: {_md(schema.name)}"
    st.caption(summary)
    return schema


_md = sup.md_text  # user and document text inside Markdown, shown as typed


def _move(rows: list[dict[str, Any]], name: str | None, step: int) -> list[dict[str, Any]]:
    rows = list(rows)
    idx = next((i for i, r in enumerate(rows) if str(r.get("name") or "").strip() == name), None)
    if idx is None or not 0 <= idx + step < len(rows):
        return rows
    rows[idx], rows[idx + step] = rows[idx + step], rows[idx]
    return rows


def schema_file_section(ss, schema: Schema | None) -> None:
    with st.expander("Schema file: save for `seqgpt run --schema` and the jobs, or load one", expanded=True):
        c1, c2 = st.columns(2)
        c1.text_input("Schema name (optional)", key="schema_name")
        c2.text_area(
            "Rules (one per line)",
            key="rules_text",
            height=68,
            placeholder="结束日期 >= 开始日期",
            help="Cross-field rules, as in a schema file's 'rules' list.",
        )
        c1, c2 = st.columns(2)
        c1.text_area(
            "Record types (one per line)",
            key="records_text",
            height=68,
            placeholder="车辆: 车牌号, 驾驶人, 车辆类型",
            help="Fields whose values belong together; one table row per record found. "
            "Its fields join the field list.",
        )
        c2.text_input(
            "Summary template",
            key="summary_text",
            placeholder="{申请人} 于 {日期} 反映 {核心诉求}",
            help="Filled only with extracted values; [...] is left out when its value is missing.",
        )
        base = (ss.schema_name or "fields").strip().replace(" ", "_") or "fields"
        c1, c2 = st.columns(2)
        if schema is None:
            c1.button("Download YAML", disabled=True, key="dl_yaml_off")
            c2.button("Download JSON", disabled=True, key="dl_json_off")
        else:
            c1.download_button(
                "Download YAML",
                sup.schema_file_bytes(schema, "yaml"),
                file_name=f"{base}.yaml",
                mime="application/x-yaml",
                key="dl_yaml",
                on_click="ignore",
            )
            c2.download_button(
                "Download JSON",
                sup.schema_file_bytes(schema, "json"),
                file_name=f"{base}.json",
                mime="application/json",
                key="dl_json",
                on_click="ignore",
            )
        st.file_uploader(
            "Load a schema file (.yaml, .yml, .json)",
            type=["yaml", "yml", "json"],
            key="schema_upload",
            on_change=_on_schema_upload,
        )
        if ss.schema_message:
            kind, message = ss.schema_message
            (st.success if kind == "success" else st.error)(_md(message))


def run_section(ss, ex, schema: Schema | None) -> None:
    st.radio("Output format", list(FORMATS), key="out_fmt", horizontal=True)
    clicked = st.button("Run", type="primary", key="run_button", width="stretch")
    if not clicked:
        return
    text = ss.doc_text
    if not text.strip():
        ss.run = None
        st.warning("The document is empty: paste text on the left or upload a PDF, then press Run.")
        return
    if schema is None:
        ss.run = None
        st.warning(
            "No usable fields: add at least one field (and fix the rows marked above), then press Run."
        )
        return
    if ex is None:
        ss.run = None
        st.error("No model is loaded (see the message under Model).")
        return
    try:
        with st.spinner("Extracting …"):
            started = time.perf_counter()
            with extraction_lock():
                result = ex.extract(text, schema)
            seconds = time.perf_counter() - started
        ocr = ss.get("doc_ocr")
        if ocr and ocr["text"] == text:  # the OCR'd upload, unedited: its confidence and weak lines
            from connectors.ocr import flag_values

            flag_values(result, ocr["meta"])
    except Exception as exc:
        ss.run = None
        st.error(_md(f"Extraction failed: {type(exc).__name__}: {exc}"))
        return
    ss.runs += 1
    ss.run = {
        "number": ss.runs,
        "text": text,
        "schema": schema,
        "result": result,
        "model": ex.model_id,
        "model_name": sup.model_name(ex.model_id, ex.untrained),
        "source": ss.doc_source,
        "seconds": seconds,
    }
    ss.pick = None


def results_section(ss) -> None:
    run = ss.run
    if not run:
        return
    text, schema, result = run["text"], run["schema"], run["result"]
    st.divider()
    st.subheader("Results")
    views = sup.collect_spans(result, schema)
    kept = [v for v in views if v.status != "dropped"]
    low = [v for v in views if v.status == "dropped"]
    st.caption(
        f"Run #{run['number']} · {len(kept)} values for {len(schema.extraction_fields)} fields · {result.chunks} chunk(s), "
        f"{result.prompts} prompt(s) · {run['seconds']:.2f} s · model: {_md(run['model_name'])} · {_md(run['source'])}"
    )
    if text != ss.doc_text:
        st.info("The document has changed since this run; the results below refer to the text as it was.")
    if result.ocr_confidence:
        oc = result.ocr_confidence
        st.caption(
            f"Read by OCR: page(s) {', '.join(str(p + 1) for p in oc['pages'])}, {oc['lines']} lines, "
            f"line score mean {oc['mean']:.3f}, minimum {oc['min']:.3f}"
        )
        ocr = ss.get("doc_ocr")
        if ocr and ocr["text"] == text:
            with st.expander("Page images: the OCR lines the values were read from (red: low score)"):
                for index, image in sup.ocr_page_images(ocr["data"], ocr["meta"], result):
                    st.image(image, caption=f"page {index + 1}", width="stretch")
    for message in result.violations:
        st.error("Violation: " + _md(message))
    for message in result.warnings:
        st.warning(_md(message))
    if low:
        st.warning(
            f"{len(low)} value(s) dropped: below their field's confidence threshold (kept for audit, shown dashed): "
            + _md("; ".join(f"{v.field}={v.text!r} ({v.confidence:.4f} < {v.threshold:g})" for v in low))
        )
    for name, labels in result.classes.items():
        chosen = ", ".join(f"{c.label} ({c.confidence:.4f})" for c in labels) or "none"
        st.markdown(f"**{_md(name)}** (classification): {_md(chosen)}")
    if schema.summary:
        with st.container(key="summary_box"):
            if result.summary is not None:
                st.success("Summary: " + _md(result.summary))
            else:
                st.info("No summary: a value it needs was not found.")
    tables = sup.record_rows(result)
    for i, rt in enumerate(schema.records):
        rows = tables.get(rt.name, [])
        st.markdown(f"**Records: {_md(rt.name)}** ({len(rows)} found; fields {_md(', '.join(rt.fields))})")
        if rows:
            with st.container(key=f"records_{i}"):
                st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if not views and schema.extraction_fields:
        st.info("No values found for these fields.")

    html, skipped = sup.highlight_html(text, views)
    html = f'<div class="seqgpt-view" data-run="{run["number"]}">{html}</div>'
    left, right = st.columns([1.1, 1])
    with left:
        st.markdown("**Values in the document** (click one to see where it came from)")
        component = document_component()
        picked = ss.get("pick")
        if component is not None:
            res = component(
                data={"html": html, "picked": picked or ""},
                key="doc_view",
                on_picked_change=lambda: None,
            )
            clicked = getattr(res, "picked", None)
            if clicked and any(v.key == clicked for v in views):
                ss.pick = clicked
        else:
            st.html(f"<style>{DOC_CSS}</style>{html}")
        if skipped:
            st.caption(
                "Overlapping values not highlighted inline: "
                + _md("; ".join(f"{v.field}={v.text!r} [{v.start}-{v.end}]" for v in skipped))
            )
    with right:
        if views:
            st.markdown("**Values**")
            with st.container(key="values_table"):
                rows = sup.value_rows(views, sup.missing_fields(result, schema))
                st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
            by_key = {v.key: v for v in views}
            if ss.get("pick") not in by_key:
                ss.pick = views[0].key
            key = st.selectbox(
                "Where did it come from?", list(by_key), format_func=lambda k: by_key[k].label, key="pick"
            )
            view = by_key[key]
            where = sup.context(text, view.start, view.end)
            with st.container(key="source_context", border=True):
                st.markdown(
                    f"**{_md(view.field)}** · confidence {view.confidence:.4f} (threshold {view.threshold:g}) · "
                    f"chars {view.start}-{view.end} · line {where['line']}, column {where['column']}"
                )
                st.html(f"<style>{DOC_CSS}</style>" + sup.context_html(text, view))
                if view.normalized is not None:
                    st.caption("normalized: " + _md(str(view.normalized)))
                if view.status == "dropped":
                    st.warning(
                        "Dropped: below the field's threshold (a job keeps it for audit in `<f>_dropped`)."
                    )
                for issue in view.issues:
                    st.error(_md(issue))

    fmt = FORMATS.get(ss.out_fmt, "json")
    body = render(result, schema, fmt, source=run["source"], model=run["model"])
    st.markdown(f"**Output ({ss.out_fmt})**: what `seqgpt extract --format {fmt}` prints")
    with st.container(key=f"output_{run['number']}"):
        if fmt == "markdown":  # rendered with the document's text escaped; the source is verbatim
            st.markdown(render(result, schema, fmt, source=run["source"], model=run["model"], escape=_md))
            with st.expander("Markdown source"):
                st.code(body, language="markdown")
        else:
            st.code(body, language="json" if fmt == "json" else None)
    suffix = {"json": "json", "table": "txt", "markdown": "md"}[fmt]
    st.download_button(
        f"Download output (.{suffix})", body, file_name=f"result.{suffix}", on_click="ignore", key="dl_output"
    )


def compare_section(ss, ex, schema: Schema | None) -> None:
    st.divider()
    with st.expander("Compare with a second document: the same fields, side by side", expanded=False):
        st.file_uploader(
            "Document B: upload a document (PDF, scan, Word, e-mail, HTML, text)", type=sup.UPLOAD_TYPES, key="doc_b_upload",
            on_change=_on_doc_b_upload,
        )  # fmt: skip
        if ss.doc_b_error:
            st.error(_md(ss.doc_b_error))
        st.text_area("Document B", key="doc_b_text", height=160, placeholder="Paste the second document here")
        if st.button("Compare A and B", key="compare_button"):
            ss.compare = None
            if not ss.doc_text.strip() or not ss.doc_b_text.strip():
                st.warning("Both documents need text: the document above (A) and document B here.")
            elif schema is None or ex is None:
                st.warning("Compare needs usable fields and a loaded model (see above).")
            else:
                with st.spinner("Extracting from both …"), extraction_lock():
                    a, b = ex.extract_batch([ss.doc_text, ss.doc_b_text], schema)
                ss.compare = {
                    "rows": sup.compare_rows(schema, a, b),
                    "a": ss.doc_source,
                    "b": ss.doc_b_source,
                }
        if ss.compare:
            st.caption(f"A: {_md(ss.compare['a'])} · B: {_md(ss.compare['b'])}")
            with st.container(key="compare_table"):
                st.dataframe(pd.DataFrame(ss.compare["rows"]), hide_index=True, width="stretch")


def main() -> None:
    st.set_page_config(page_title="seqgpt · try a field list", page_icon="🔎", layout="wide")
    ss = _state()
    st.title("Try a field list on one document")
    st.caption(
        "What you try here is what runs at night: save the field list as a schema file and pass it to "
        "`seqgpt run --schema` or the jobs."
    )
    st.button("Load an example", on_click=_on_example, help="A short Chinese contract and five fields")
    left, right = st.columns([1.1, 1], gap="large")
    ex = schema = None
    with left:
        document_pane(ss)
    with right:
        try:
            ex = model_section(ss)
            schema = fields_section(ss)
            schema_file_section(ss, schema)
            run_section(ss, ex, schema)
        except Exception as exc:  # never a traceback on the page
            st.error(_md(f"Something went wrong: {type(exc).__name__}: {exc}"))
    try:
        results_section(ss)
    except Exception as exc:
        st.error(_md(f"Cannot show the results: {type(exc).__name__}: {exc}"))
    try:
        compare_section(ss, ex, schema)
    except Exception as exc:
        st.error(_md(f"Cannot compare: {type(exc).__name__}: {exc}"))


main()
