"""The request mix of the load and soak runs: one locust user class, six request types.

Short English and Chinese texts, long texts (a few thousand characters) in both languages and
batches of 32 sentences, each built fresh from templates with random names, places, organisations
and numbers, so the service keeps meeting words it has not seen (as in production, and so a cache
that grows per new word would show in the RSS). Every answer is checked: status 200, the model
asked for, one result per text, and well-formed entities (see ``soak.entities_problem``); anything
else is a locust failure.

Run by ``soak.py``; alone::

    locust -f scripts/reliability/locustfile.py --headless -u 40 -r 20 -t 60s \
        --host http://127.0.0.1:8000 --user-rate 0.5 --samples /tmp/samples.csv
"""

from __future__ import annotations

import csv
import random
import time
from collections.abc import Callable
from typing import Any, TextIO

import gevent
from locust import FastHttpUser, events, task
from soak import entities_problem  # locust puts the locustfile's directory on sys.path

BATCH_SIZE = 32
LONG_CHARS = (2000, 5000)  # range of a long text's length in characters

EN_PEOPLE = [
    "Angela Merkel", "Emmanuel Macron", "Barack Obama", "Joe Biden", "Rishi Sunak", "Olaf Scholz",
    "Maria Fernandez", "John Smith", "Yuki Tanaka", "Pedro Alvarez", "Sarah Connor", "Ahmed Khan",
    "Boris Johnson", "Jacinda Ardern", "Narendra Modi", "Lionel Messi", "Serena Williams", "Tim Cook",
]  # fmt: skip
EN_PLACES = [
    "Paris", "Berlin", "London", "Tokyo", "New York", "Chicago", "Madrid", "Cairo", "Sydney",
    "Brazil", "Germany", "China", "Canada", "Nairobi", "Mumbai", "Moscow", "Lisbon", "Texas",
]  # fmt: skip
EN_ORGS = [
    "Reuters", "IBM", "the United Nations", "Microsoft", "Siemens", "the European Union", "NATO",
    "Toyota", "Barclays", "the World Bank", "Real Madrid", "Google", "Airbus", "the Bundesbank",
]  # fmt: skip
EN_TEMPLATES = [
    "{p} met {p2} in {l} on {day}, {o} said.",
    "{o} shares rose {n}.{d} percent in {l} trading after {p} announced a {n}{d} million dollar deal.",
    "{p} told reporters in {l} that {o} would cut {n}{d}{d} jobs by {year}.",
    "In {year}, {p} moved from {l} to {l2} to work for {o}.",
    "{o} and {o2} signed an agreement in {l} worth {n} billion euros.",
    "Police in {l} said {n} people were injured when a bus crashed on {day}.",
    "{p} scored twice as {o} beat {o2} {n}-{d} in {l} on {day}.",
    "The talks between {p} and {p2} will resume in {l} next week, a spokesman for {o} said.",
    "Officials from {l} and {l2} are expected to meet {p} at the {o} summit.",
    "Ref. {n}{d}{d}{d}-{d}{d}: {p} ({o}) reported from {l}.",
]  # fmt: skip
EN_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

ZH_PEOPLE = ["张三", "李明", "王芳", "刘德华", "陈晓东", "赵丽颖", "周杰伦", "孙立平", "马云", "黄文静", "郭晶晶"]
ZH_PLACES = ["北京", "上海", "广州", "深圳", "南京", "杭州", "西安", "成都", "香港", "台湾", "日本", "美国", "武汉"]
ZH_ORGS = [
    "北京大学", "清华大学", "中国外交部", "新华社", "国务院", "上海交通大学", "中国银行", "联合国",
    "人民日报", "中国科学院", "阿里巴巴", "复旦大学",
]  # fmt: skip
ZH_TEMPLATES = [
    "{p}在{o}工作，昨天去了{l}。",
    "{o}发言人{p}在{l}表示，双方将于{n}月{d}日举行会谈。",
    "据{o}报道，{l}今年第{n}季度经济增长{n}.{d}%。",
    "{p}和{p2}于{year}年在{l}创办了一家公司。",
    "{l}市政府与{o}签署了合作协议，总金额达{n}{d}亿元。",
    "{p}毕业于{o}，现任{o2}研究员。",
    "{n}月{d}日，{p}率代表团访问{l}和{l2}。",
    "来自{l}的{p}获得了本届比赛的冠军！",
]  # fmt: skip


def _fill(rng: random.Random, template: str, people: list[str], places: list[str], orgs: list[str]) -> str:
    p, p2 = rng.sample(people, 2)
    loc, loc2 = rng.sample(places, 2)
    o, o2 = rng.sample(orgs, 2)
    return template.format(
        p=p, p2=p2, l=loc, l2=loc2, o=o, o2=o2, n=rng.randint(1, 9), d=rng.randint(0, 9),
        year=rng.randint(1950, 2030), day=rng.choice(EN_DAYS),
    )  # fmt: skip


def english_sentence(rng: random.Random) -> str:
    """One English news-style sentence with random entities and numbers."""
    text = _fill(rng, rng.choice(EN_TEMPLATES), EN_PEOPLE, EN_PLACES, EN_ORGS)
    # An unseen surname now and then, so the service keeps meeting new words.
    if rng.random() < 0.3:
        text += f" {rng.choice(EN_PEOPLE).split()[0]} {_made_up_name(rng)} agreed."
    return text


def chinese_sentence(rng: random.Random) -> str:
    """One Chinese news-style sentence with random entities and numbers."""
    return _fill(rng, rng.choice(ZH_TEMPLATES), ZH_PEOPLE, ZH_PLACES, ZH_ORGS)


def _made_up_name(rng: random.Random) -> str:
    syllables = ["ka", "lo", "mir", "sen", "ta", "vel", "dor", "an", "ric", "ku", "bel", "zo"]
    return "".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))).capitalize()


def long_text(rng: random.Random, sentence: Callable[[random.Random], str]) -> str:
    """A document of a few thousand characters: sentences in paragraphs of three to six."""
    target = rng.randint(*LONG_CHARS)
    paragraphs: list[str] = []
    length = 0
    while length < target:
        joiner = " " if sentence is english_sentence else ""
        paragraph = joiner.join(sentence(rng) for _ in range(rng.randint(3, 6)))
        paragraphs.append(paragraph)
        length += len(paragraph) + 2
    return "\n\n".join(paragraphs)


class NerUser(FastHttpUser):
    """A client at a constant request rate (``--user-rate`` requests per second) over the mix below.

    Like locust's ``constant_throughput``, but each user starts at a random phase of its period:
    locust starts users together, and ``constant_throughput`` paces from the user's creation, so
    users at one rate fire together, in bursts that measure queueing rather than the service.
    """

    def on_start(self) -> None:
        self.rng = random.Random()
        self.period = 1 / self.environment.parsed_options.user_rate
        gevent.sleep(self.rng.uniform(0, self.period))
        self.next_at = time.monotonic()

    def wait_time(self) -> float:
        now = time.monotonic()
        # A user that fell behind (a slow answer) goes at once, but does not burst to catch up.
        self.next_at = max(self.next_at + self.period, now)
        return self.next_at - now

    def _post(self, name: str, path: str, body: dict[str, Any], texts: list[str]) -> None:
        with self.client.post(path, json=body, name=name, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
                return
            try:
                answer = response.json()
            except ValueError:
                response.failure("response is not JSON")
                return
            problem = _answer_problem(answer, body["model"], texts, batch="texts" in body)
            if problem:
                response.failure(problem)

    # Weights: mostly short texts, as interactive callers send; long documents and batches are
    # rarer but make up much of the server's work.
    @task(40)
    def en_short(self) -> None:
        text = english_sentence(self.rng)
        self._post("en_short", "/v1/ner", {"text": text, "model": "en"}, [text])

    @task(30)
    def zh_short(self) -> None:
        text = chinese_sentence(self.rng)
        self._post("zh_short", "/v1/ner", {"text": text, "model": "zh"}, [text])

    @task(4)
    def en_long(self) -> None:
        text = long_text(self.rng, english_sentence)
        self._post("en_long", "/v1/ner", {"text": text, "model": "en"}, [text])

    @task(4)
    def zh_long(self) -> None:
        text = long_text(self.rng, chinese_sentence)
        self._post("zh_long", "/v1/ner", {"text": text, "model": "zh"}, [text])

    @task(4)
    def en_batch(self) -> None:
        texts = [english_sentence(self.rng) for _ in range(BATCH_SIZE)]
        self._post("en_batch32", "/v1/ner/batch", {"texts": texts, "model": "en"}, texts)

    @task(4)
    def zh_batch(self) -> None:
        texts = [chinese_sentence(self.rng) for _ in range(BATCH_SIZE)]
        self._post("zh_batch32", "/v1/ner/batch", {"texts": texts, "model": "zh"}, texts)


def _answer_problem(answer: Any, model: str, texts: list[str], batch: bool) -> str | None:
    if not isinstance(answer, dict) or answer.get("model") != model:
        return f"answer is not from model {model!r}"
    if batch:
        results = answer.get("results")
        if not isinstance(results, list) or len(results) != len(texts):
            return f"expected {len(texts)} results"
        entity_lists = [r.get("entities") if isinstance(r, dict) else None for r in results]
    else:
        entity_lists = [answer.get("entities")]
    for i, (text, entities) in enumerate(zip(texts, entity_lists)):
        problem = entities_problem(text, entities)
        if problem:
            return f"text {i}: {problem}" if batch else problem
    return None


# Per-request samples for soak.py: the start time of each request lets it compare minutes.
_samples: dict[str, Any] = {}


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument("--user-rate", type=float, default=1.0, help="requests per second per user")
    parser.add_argument("--samples", default="", help="CSV file for one line per request")


@events.test_start.add_listener
def _open_samples(environment: Any, **_: Any) -> None:
    path = environment.parsed_options.samples
    if path and "file" not in _samples:
        f: TextIO = open(path, "w", newline="", encoding="utf-8")  # closed on quitting
        _samples["file"], _samples["writer"] = f, csv.writer(f)
        _samples["writer"].writerow(["start", "name", "ms", "ok", "error"])


@events.request.add_listener
def _record(name: str, response_time: float, exception: Exception | None, **kwargs: Any) -> None:
    writer = _samples.get("writer")
    if writer is None:
        return
    start = kwargs.get("start_time") or time.time() - response_time / 1000
    error = "" if exception is None else str(exception)[:300]
    writer.writerow([f"{start:.4f}", name, f"{response_time:.2f}", int(exception is None), error])


@events.quitting.add_listener
def _close_samples(**_: Any) -> None:
    f = _samples.pop("file", None)
    if f is not None:
        f.close()
