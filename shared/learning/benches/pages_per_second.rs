//! Throughput of the whole pipeline (extract, generate, guardrails) on a 100-page text PDF.
//!
//! A plain binary that prints figures, not a timed test: timing on shared machines is too noisy
//! to fail a build on. The PDF is built in code (see `tests/support/fixtures.rs`), about 400
//! words per page, with headings, definitions, running headers and page numbers.

#[path = "../tests/support/fixtures.rs"]
mod fixtures;

use std::time::{Duration, Instant};

use packforge_learning::{
    DeterministicGenerator, ExtractOptions, Generator, check_games, check_pack, extract,
};

const PAGES: usize = 100;
const RUNS: usize = 5;
const TARGET: Duration = Duration::from_secs(2);

#[derive(Default, Clone, Copy)]
struct Timings {
    extract: Duration,
    pack: Duration,
    pack_guardrails: Duration,
    games: Duration,
    games_guardrails: Duration,
}

impl Timings {
    fn total(&self) -> Duration {
        self.extract + self.pack + self.pack_guardrails + self.games + self.games_guardrails
    }
}

fn main() {
    println!("packforge-learning pipeline throughput ({PAGES}-page text pdf, {RUNS} runs)");
    println!("command: cargo bench -p packforge-learning --bench pages_per_second");
    if cfg!(debug_assertions) {
        println!("warning: built without optimizations; figures are not representative");
    }

    let pdf = bench_pdf(PAGES);
    println!("input: {} bytes", pdf.len());

    let warmup = run_once(&pdf);
    println!(
        "output: {} concepts, {} questions, {} game items",
        warmup.1, warmup.2, warmup.3
    );

    let mut runs: Vec<Timings> = (0..RUNS).map(|_| run_once(&pdf).0).collect();
    runs.sort_by_key(Timings::total);
    let median = runs[runs.len() / 2];
    let fastest = runs[0];

    let seconds = median.total().as_secs_f64();
    println!("stage            median");
    for (stage, time) in [
        ("extract", median.extract),
        ("generate pack", median.pack),
        ("pack guardrails", median.pack_guardrails),
        ("generate games", median.games),
        ("games guardrails", median.games_guardrails),
    ] {
        println!("{stage:<17}{:>8.1} ms", time.as_secs_f64() * 1000.0);
    }
    println!(
        "total: median {:.1} ms, fastest {:.1} ms",
        seconds * 1000.0,
        fastest.total().as_secs_f64() * 1000.0
    );
    println!("pages per second: {:.0}", PAGES as f64 / seconds);
    let verdict = if median.total() < TARGET {
        "met"
    } else {
        "missed"
    };
    println!(
        "target: {PAGES} pages under {} s: {verdict}",
        TARGET.as_secs()
    );
}

/// Times one pipeline run; also returns concept, question and game item counts.
fn run_once(pdf: &[u8]) -> (Timings, usize, usize, usize) {
    let generator = DeterministicGenerator::default();
    let mut timings = Timings::default();

    let started = Instant::now();
    let document = extract(pdf, "uploads/bench/report.pdf", &ExtractOptions::default())
        .expect("benchmark pdf extracts");
    timings.extract = started.elapsed();

    let started = Instant::now();
    let mut pack = generator.generate_pack(&document).expect("pack generates");
    timings.pack = started.elapsed();

    let started = Instant::now();
    check_pack(&mut pack, &document.text).expect("pack passes guardrails");
    timings.pack_guardrails = started.elapsed();

    let started = Instant::now();
    let mut games = generator.generate_games(&pack).expect("games generate");
    timings.games = started.elapsed();

    let started = Instant::now();
    check_games(&mut games, &document.text).expect("games pass guardrails");
    timings.games_guardrails = started.elapsed();

    (
        timings,
        pack.concepts.len(),
        pack.questions.len(),
        games.item_count(),
    )
}

/// About 400 words a page: a section of the water-cycle notes plus a field report whose
/// numbers and places change from page to page, so no two pages are identical.
fn bench_pdf(pages: usize) -> Vec<u8> {
    let sections = fixtures::water_cycle_sections();
    let places = [
        "the northern valley",
        "the coastal plain",
        "the upland moor",
        "the river delta",
    ];
    let page_lines: Vec<Vec<String>> = (0..pages)
        .map(|page| {
            let (heading, paragraphs) = &sections[page % sections.len()];
            let place = places[page % places.len()];
            let mut lines = vec!["Field Course in Hydrology".to_owned()];
            lines.push(format!("{heading} at Site {}", page + 1));
            for paragraph in paragraphs {
                lines.extend(fixtures::wrap(paragraph, 90));
            }
            let report = format!(
                "Measurements at site {site} in {place} recorded {rain} millimetres of rain over \
                 {days} days. The soil moisture probe at a depth of {depth} centimetres showed a \
                 steady rise after each storm, while the stream gauge peaked about {lag} hours \
                 later. Students compared these readings with the long-term record and noted that \
                 evaporation from the open water surface was highest in the early afternoon. \
                 A rain gauge is a funnel and cylinder that collects and measures precipitation \
                 at one point. The team logged humidity, wind speed and air temperature every \
                 hour, and repeated the survey of the aquifer wells at the end of the week. \
                 Observations from site {site} suggest that runoff increases sharply once the \
                 upper soil layer is saturated, which matches the pattern seen in earlier years \
                 across {place}.",
                site = page + 1,
                rain = 12 + page * 7 % 40,
                days = 3 + page % 5,
                depth = 10 + page % 4 * 10,
                lag = 2 + page % 6,
            );
            lines.extend(fixtures::wrap(&report, 90));
            lines.push(format!("Page {} of {pages}", page + 1));
            lines
        })
        .collect();
    fixtures::pdf(&page_lines, Some("Field Course in Hydrology"))
}
