"""Runs: every finished training run, kept in the run history (nets.runs.RunStore).

Filter by model and dataset, pick runs in the table to overlay their curves (BN against no BN,
Adam against SGD), read each run's per-epoch table and config, download its weights, delete runs.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitAPIException

from nets.runs import RunStore, RunStoreError, curve_points
from ui.controls import inert
from ui.i18n import N_, t
from ui.training import history_figure, row_name, row_short, runs_summary

TABLE_KEY = "runs_table"
SHOWN_KEY = "runs_table_ids"  # the run ids in the order the table last showed them
PICKED_KEY = "_runs_picked"  # the ticked runs' ids, kept over a trip to another page
LINK_KEY = "runs"  # ?runs=<id>,<id>: the ticked runs in the link
FILTER_KEYS = ("runs_models", "runs_datasets")
CONFIRM_KEY = "runs_confirm"
MESSAGE_KEY = "runs_message"
TRAINING_PAGES = (("app_pages/batchnorm.py", N_("Batch normalization"), "📊"),
                  ("app_pages/resnet.py", N_("ResNet"), "🧱"),
                  ("app_pages/densenet.py", N_("DenseNet"), "🕸️"))
EAGER_WEIGHTS_BYTES = 64 * 2**20  # weights read as the page is drawn, all selected runs together
STATUS_WORDS = {"done": N_("done"), "stopped": N_("stopped"), "failed": N_("failed")}
# History.epochs keys (nets.train.fit's epoch record), shown as the per-epoch table's columns,
# each with its number format (examples per second as the training page writes them: 12,345)
EPOCH_COLUMNS = {N_("epoch"): "%d", N_("step"): "%,d", N_("train_loss"): "%.4f",
                 N_("train_acc"): "%.4f", N_("test_acc"): "%.4f", N_("examples"): "%,d",
                 N_("examples_per_s"): "%,.0f", N_("seconds"): "%.1f", N_("lr"): "%g",
                 N_("partial"): None, N_("world_size"): "%d"}


def training_links() -> None:
    for path, title, icon in TRAINING_PAGES:
        try:
            st.page_link(path, label=t(title), icon=icon)
        except StreamlitAPIException:  # page run on its own, outside the app's navigation
            st.markdown(f"{icon} {t(title)}")


def clear_selection() -> None:
    st.session_state[TABLE_KEY] = {"selection": {"rows": [], "columns": []}}
    st.session_state[CONFIRM_KEY] = False


def selected_ids() -> list[str]:
    """The ids of the runs ticked in the table. The table's selection is row numbers of the
    table as the user saw it, which another tab's finished or deleted run shifts: read them
    against the ids the table last showed, not against the rows of this rerun."""
    state = st.session_state.get(TABLE_KEY)
    shown = st.session_state.get(SHOWN_KEY) or []
    rows = state["selection"]["rows"] if state else []
    return [shown[i] for i in rows if 0 <= i < len(shown)]


def keep_selection(ids_now: list[str]) -> None:
    """Before the table is drawn: when its rows changed since the user last saw it, move the
    ticks to the same runs' new rows (a run that is gone loses its tick), then remember the
    rows drawn now."""
    if st.session_state.get(SHOWN_KEY) not in (None, ids_now) and TABLE_KEY in st.session_state:
        picked = set(selected_ids())
        st.session_state[TABLE_KEY] = {
            "selection": {"rows": [i for i, rid in enumerate(ids_now) if rid in picked],
                          "columns": []}}
    st.session_state[SHOWN_KEY] = ids_now


def restore_filters() -> None:
    """Before the filters are made: back from another page (a widget's state goes with its
    page), the filters as they were."""
    ss = st.session_state
    for key in FILTER_KEYS:
        if key not in ss and f"_{key}" in ss:
            ss[key] = ss[f"_{key}"]


def restore_picks(ids_now: list[str]) -> list[str]:
    """Before the table is drawn, when it has no selection state (a new session, or back from
    another page): tick the runs the link names, else the ones ticked when the page was last
    shown. Returns the link's ids that are not in the table (deleted, filtered out, a typo)."""
    ss = st.session_state
    if TABLE_KEY in ss:
        return []
    raw = st.query_params.get(LINK_KEY)
    wanted = [i for i in (raw or "").split(",") if i] if raw is not None else ss.get(PICKED_KEY, [])
    ss[TABLE_KEY] = {"selection": {"rows": [i for i, rid in enumerate(ids_now) if rid in wanted],
                                   "columns": []}}
    ss[SHOWN_KEY] = ids_now
    return [i for i in wanted if i not in ids_now] if raw is not None else []


def keep_picks(ids: list[str]) -> None:
    """After the table: the ticked runs into the session (for a page trip) and the link."""
    ss = st.session_state
    ss[PICKED_KEY] = ids
    for key in FILTER_KEYS:
        ss[f"_{key}"] = ss.get(key, [])
    if ids:
        if st.query_params.get(LINK_KEY) != ",".join(ids):
            st.query_params[LINK_KEY] = ",".join(ids)
    elif LINK_KEY in st.query_params:
        del st.query_params[LINK_KEY]


def delete_runs(store: RunStore, ids: list[str]) -> None:
    """Button callback: runs before the next script run, so widget state may still be reset."""
    try:
        n = store.delete(ids)
        st.session_state[MESSAGE_KEY] = ("success", t("Deleted {n} run(s) and their weights.", n=n))
    except (RunStoreError, KeyError) as exc:
        st.session_state[MESSAGE_KEY] = ("error", t("Could not delete: {why}", why=str(exc)))
    clear_selection()


def read_weights(path, budget: int):
    """What a run's weights download serves: the file's bytes, read now, while they fit in
    ``budget`` (bytes); a larger file is read on the click (a callable), so that ticking many
    ResNet runs (45 MB each) does not hold them all in memory. None when the file is gone.

    Bytes read now download even after another tab deleted the run: a file read only on the
    click failed then, with nothing on the page but Streamlit's brief "Failed to generate file"
    and a traceback in the server's log."""
    try:
        size = path.stat().st_size
        if size <= budget:
            return path.read_bytes()
    except OSError:  # deleted (another tab's Delete) since the store named it
        return None
    return lambda: path.read_bytes()


def run_table(rows) -> pd.DataFrame:
    # what tells runs apart first (model, dataset, test accuracy, status, time), the settings
    # after: at 1280 px the table showed only up to the test accuracy, and it came ninth
    return pd.DataFrame({
        t("created"): [dt.datetime.fromtimestamp(r.created) for r in rows],
        t("model"): [r.model for r in rows],
        t("dataset"): [r.dataset for r in rows],
        # text, as the expanders below write it: a run stopped before its first test pass has
        # none, and a number column wrote that "None" (in English on a Chinese page too); four
        # decimals sort as the numbers do, and "–" after them
        t("test accuracy"): [f"{r.final_test_acc:.4f}" if r.final_test_acc is not None else "–"
                             for r in rows],
        t("status"): [t(STATUS_WORDS.get(r.status, r.status)) for r in rows],
        t("seconds"): [r.seconds for r in rows],
        t("epochs"): [r.epochs for r in rows],
        t("optimizer"): [r.optimizer for r in rows],
        t("learning rate"): [r.lr for r in rows],
        t("batch size"): [r.batch_size for r in rows],
        t("fast"): [r.fast for r in rows],
        t("device"): [r.device for r in rows],
        "id": [r.id for r in rows],
    })


st.title(t("Runs"))
st.caption(t("Every finished training run is saved here with its curves, settings and weights. "
             "Pick runs in the table to overlay their curves."))

try:
    store = RunStore()
    all_rows = store.list(limit=1000)
except RunStoreError as exc:
    st.error(t("The run history cannot be read: {why}", why=str(exc)))
    st.stop()

message = st.session_state.pop(MESSAGE_KEY, None)
if message is not None:
    (st.success if message[0] == "success" else st.error)(message[1])

if not all_rows:
    st.info(t("No runs yet. Train a model on one of the training pages; every finished run "
              "appears here, so you can compare them later."))
    training_links()
    st.stop()

restore_filters()
c1, c2 = st.columns(2)
models = sorted({r.model for r in all_rows})
datasets = sorted({r.dataset for r in all_rows})
pick_models = c1.multiselect(t("Models"), models, key="runs_models", on_change=clear_selection,
                             placeholder=t("All models"))
pick_datasets = c2.multiselect(t("Datasets"), datasets, key="runs_datasets",
                               on_change=clear_selection, placeholder=t("All datasets"))
rows = [r for r in all_rows if (not pick_models or r.model in pick_models)
        and (not pick_datasets or r.dataset in pick_datasets)]

missing = restore_picks([r.id for r in rows])
keep_selection([r.id for r in rows])
event = st.dataframe(
    run_table(rows), key=TABLE_KEY, on_select="rerun", selection_mode="multi-row",
    hide_index=True, width="stretch",
    column_config={
        t("created"): st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss"),
        t("learning rate"): st.column_config.NumberColumn(format="%g"),
        t("seconds"): st.column_config.NumberColumn(format="%.1f"),
    })
picked = sorted({i for i in event.selection.rows if 0 <= i < len(rows)})
chosen = [rows[i] for i in picked]
keep_picks([r.id for r in chosen])
st.caption(t("{n} run(s) shown, {k} selected. With the keyboard: `Tab` into the table, the "
             "arrow keys to a run, `Shift`+`Space` to select it or not.", n=len(rows),
             k=len(chosen)))
if missing:
    st.warning(t("The link names runs that are not in the history (deleted?): {ids}",
                 ids=", ".join(inert(i) for i in missing)))

if not chosen:
    st.info(t("Select one or more runs in the table (tick the boxes on the left) to compare "
              "their curves, see their settings and download their weights."))
    st.stop()

histories = {}
for r in chosen:
    try:
        histories[r.id] = store.history(r.id)
    except (RunStoreError, KeyError) as exc:  # deleted meanwhile, or damaged
        st.warning(t("Run {id} cannot be shown: {why}", id=r.id, why=str(exc)))
shown = [r for r in chosen if r.id in histories]
st.subheader(t("Curves"))
# oldest first, as a training page colours its runs (by their order on the page): the first run
# of a session is orange on both pages, the second blue (the table lists the newest first)
drawn = sorted(reversed(shown), key=lambda r: r.created)  # ties: the table lists newest first
labels = [row_short(r) if len(drawn) > 1 else row_name(r) for r in drawn]
st.plotly_chart(history_figure([(row_name(r), curve_points(histories[r.id])) for r in drawn],
                               labels=labels), key="runs_curves")
st.caption(runs_summary([(label, histories[r.id].get("epochs") or [])
                         for label, r in zip(labels, drawn)]))

budget = EAGER_WEIGHTS_BYTES
for r in shown:
    acc = f"{r.final_test_acc:.4f}" if r.final_test_acc is not None else "–"
    with st.expander(f"{row_name(r)} · {t('test accuracy')} {acc}", expanded=len(shown) == 1):
        epochs = histories[r.id].get("epochs") or []
        if epochs:
            st.dataframe(pd.DataFrame(epochs).rename(columns={c: t(c) for c in EPOCH_COLUMNS}),
                         hide_index=True, width="stretch", key=f"runs_epochs_{r.id}",
                         placeholder="—",
                         column_config={t(c): st.column_config.NumberColumn(format=f)
                                        for c, f in EPOCH_COLUMNS.items() if f})
        else:
            st.caption(t("This run stopped before finishing an epoch."))
        st.json(r.config, expanded=False)
        path = store.weights_path(r.id)
        if path is None:
            st.caption(t("No weights stored for this run."))
            continue
        weights = read_weights(path, budget)
        if weights is None:
            st.warning(t("This run's weights are no longer available: the run was deleted "
                         "meanwhile (in another tab?)."))
            continue
        if isinstance(weights, bytes):
            budget -= len(weights)
        st.download_button(
            t("Download weights (.pt)"), weights,
            file_name=f"{r.model}-{r.dataset}-{r.id}.pt", mime="application/octet-stream",
            on_click="ignore", key=f"runs_weights_{r.id}")

with st.popover(t("Delete selected runs"), icon="🗑️"):
    st.write(t("Deletes {n} run(s) and their weights files. This cannot be undone.",
               n=len(chosen)))
    st.markdown("\n".join(f"- {row_name(r)}" for r in chosen))
    sure = st.checkbox(t("I am sure"), key=CONFIRM_KEY)
    st.button(t("Delete"), type="primary", disabled=not sure, key="runs_delete",
              on_click=delete_runs, args=(store, [r.id for r in chosen]))
