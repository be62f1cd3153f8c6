//! The guardrails, in order, applied to games.
//!
//! See the parent module for what each guardrail enforces. Here each one walks the quiz,
//! matching pairs, fill-in-the-blank items and word bank, and true-or-false statements. Only
//! `schema_valid` (unknown format version) and `item_counts` (too few items in any game) fail.

use std::collections::HashSet;

use crate::analysis::words::{normalize, term_key};
use crate::games::{GAMES_FORMAT_VERSION, Games};
use crate::guardrails::checks::{
    self, bounded, enforce_count, personal_data, question_texts, unique_ids, worst,
};
use crate::guardrails::grounding::SourceText;
use crate::guardrails::pack::first;
use crate::guardrails::personal_data::contains_personal_data;
use crate::guardrails::report::{GuardrailReport, Outcome, Tally};
use crate::guardrails::{GuardrailFailure, GuardrailLimits, Run, Stage};
use crate::pack::BLANK;

pub(crate) fn check(
    games: &mut Games,
    source_text: &str,
    limits: &GuardrailLimits,
) -> Result<Vec<GuardrailReport>, GuardrailFailure> {
    let source = SourceText::new(source_text);
    let mut run = Run::new(Stage::Games);
    run.add(no_personal_data(games))?;
    run.add(length_limits(games, limits))?;
    run.add(grounded_in_source(games, &source, limits))?;
    run.add(answer_in_options(games))?;
    run.add(unique_options(games, limits))?;
    run.add(unique_items(games))?;
    run.add(schema_valid(games))?;
    run.add(item_counts(games, limits))?;
    Ok(run.finish())
}

fn no_personal_data(games: &mut Games) -> GuardrailReport {
    let mut tally = Tally::new("personal_data");
    let title = if contains_personal_data(&games.title) {
        games.title = "Untitled document".to_owned();
        Outcome::Repaired
    } else {
        Outcome::Keep
    };
    tally.record("title", title, "");
    tally.review(
        "quiz",
        &mut games.quiz.questions,
        |q| q.prompt.clone(),
        |q| personal_data(question_texts(q)),
    );
    tally.review(
        "matching",
        &mut games.matching.pairs,
        |p| p.term.clone(),
        |p| personal_data([p.term.as_str(), &p.definition, &p.source.text]),
    );
    let fill = &mut games.fill_in_blank;
    tally.review(
        "fill_in_blank",
        &mut fill.items,
        |i| i.text.clone(),
        |i| personal_data([i.text.as_str(), &i.answer, &i.source.text]),
    );
    tally.review("word_bank", &mut fill.word_bank, Clone::clone, |word| {
        personal_data([word.as_str()])
    });
    tally.review(
        "true_false",
        &mut games.true_false.statements,
        |s| s.statement.clone(),
        |s| {
            personal_data([
                s.statement.as_str(),
                &s.term,
                &s.definition,
                &s.correct_term,
                &s.source.text,
            ])
        },
    );
    tally.finish()
}

fn length_limits(games: &mut Games, limits: &GuardrailLimits) -> GuardrailReport {
    let mut tally = Tally::new("length_limits");
    let excerpt = games.title.clone();
    tally.record(
        "title",
        checks::shorten(&mut games.title, limits.max_title_chars),
        &excerpt,
    );
    tally.review(
        "quiz",
        &mut games.quiz.questions,
        |q| q.prompt.clone(),
        |q| checks::question_lengths(q, limits),
    );
    tally.review(
        "matching",
        &mut games.matching.pairs,
        |p| p.term.clone(),
        |p| {
            let kept = worst(
                bounded(limits.max_term_chars, [p.term.as_str()]),
                bounded(limits.max_source_chars, [p.source.text.as_str()]),
            );
            worst(
                kept,
                checks::shorten(&mut p.definition, limits.max_text_chars),
            )
        },
    );
    let fill = &mut games.fill_in_blank;
    tally.review(
        "fill_in_blank",
        &mut fill.items,
        |i| i.text.clone(),
        |i| {
            worst(
                worst(
                    bounded(limits.max_prompt_chars, [i.text.as_str()]),
                    bounded(limits.max_term_chars, [i.answer.as_str()]),
                ),
                bounded(limits.max_source_chars, [i.source.text.as_str()]),
            )
        },
    );
    tally.review("word_bank", &mut fill.word_bank, Clone::clone, |word| {
        bounded(limits.max_term_chars, [word.as_str()])
    });
    tally.review(
        "true_false",
        &mut games.true_false.statements,
        |s| s.statement.clone(),
        |s| {
            worst(
                worst(
                    bounded(limits.max_prompt_chars, [s.statement.as_str()]),
                    bounded(limits.max_term_chars, [s.term.as_str(), &s.correct_term]),
                ),
                bounded(
                    limits.max_source_chars,
                    [s.source.text.as_str(), &s.definition],
                ),
            )
        },
    );
    tally.finish()
}

fn grounded_in_source(
    games: &mut Games,
    source: &SourceText<'_>,
    limits: &GuardrailLimits,
) -> GuardrailReport {
    let mut tally = Tally::new("grounded_in_source");
    tally.review(
        "quiz",
        &mut games.quiz.questions,
        |q| q.prompt.clone(),
        |q| checks::question_grounding(q, source, limits),
    );
    tally.review(
        "matching",
        &mut games.matching.pairs,
        |p| p.term.clone(),
        |p| {
            let span = checks::span(&mut p.source, source);
            let near = p.source.text.as_str();
            let grounded = span != Outcome::Remove
                && source.contains_near(&p.term, near)
                && source.contains_filled_near(&p.definition, &p.term, near);
            if grounded { span } else { Outcome::Remove }
        },
    );
    let fill = &mut games.fill_in_blank;
    tally.review(
        "fill_in_blank",
        &mut fill.items,
        |i| i.text.clone(),
        |i| {
            let span = checks::span(&mut i.source, source);
            let grounded = span != Outcome::Remove
                && i.text.contains(BLANK)
                && source.contains_filled_near(&i.text, &i.answer, &i.source.text);
            if grounded { span } else { Outcome::Remove }
        },
    );
    tally.review("word_bank", &mut fill.word_bank, Clone::clone, |word| {
        if source.contains(word) {
            Outcome::Keep
        } else {
            Outcome::Remove
        }
    });
    tally.review(
        "true_false",
        &mut games.true_false.statements,
        |s| s.statement.clone(),
        |s| {
            let span = checks::span(&mut s.source, source);
            let near = s.source.text.as_str();
            let grounded = span != Outcome::Remove
                && source.contains(&s.term)
                && source.contains_near(&s.correct_term, near)
                && source.contains_filled_near(&s.definition, &s.correct_term, near);
            if grounded { span } else { Outcome::Remove }
        },
    );
    tally.finish()
}

fn answer_in_options(games: &mut Games) -> GuardrailReport {
    let mut tally = Tally::new("answer_in_options");
    tally.review(
        "quiz",
        &mut games.quiz.questions,
        |q| q.prompt.clone(),
        checks::question_answer,
    );

    let fill = &mut games.fill_in_blank;
    let mut bank: HashSet<String> = fill.word_bank.iter().map(|word| term_key(word)).collect();
    let mut missing = Vec::new();
    tally.review(
        "fill_in_blank",
        &mut fill.items,
        |i| i.text.clone(),
        |item| {
            if bank.insert(term_key(&item.answer)) {
                missing.push(item.answer.clone());
                return Outcome::Repaired;
            }
            Outcome::Keep
        },
    );
    if !missing.is_empty() {
        fill.word_bank.extend(missing);
        fill.word_bank.sort_by_key(|word| word.to_lowercase());
    }

    tally.review(
        "true_false",
        &mut games.true_false.statements,
        |s| s.statement.clone(),
        |s| {
            let truth = term_key(&s.term) == term_key(&s.correct_term);
            if s.answer == truth {
                return Outcome::Keep;
            }
            s.answer = truth;
            Outcome::Repaired
        },
    );
    tally.finish()
}

fn unique_options(games: &mut Games, limits: &GuardrailLimits) -> GuardrailReport {
    let mut tally = Tally::new("unique_options");
    tally.review(
        "quiz",
        &mut games.quiz.questions,
        |q| q.prompt.clone(),
        |q| checks::question_unique_options(q, limits),
    );
    let mut seen = HashSet::new();
    tally.review(
        "word_bank",
        &mut games.fill_in_blank.word_bank,
        Clone::clone,
        |word| first(&mut seen, term_key(word)),
    );
    tally.finish()
}

fn unique_items(games: &mut Games) -> GuardrailReport {
    let mut tally = Tally::new("unique_items");
    let mut seen = HashSet::new();
    tally.review(
        "quiz",
        &mut games.quiz.questions,
        |q| q.prompt.clone(),
        |q| first(&mut seen, normalize(&q.prompt)),
    );
    let mut terms = HashSet::new();
    let mut definitions = HashSet::new();
    tally.review(
        "matching",
        &mut games.matching.pairs,
        |p| p.term.clone(),
        |p| {
            let new_term = terms.insert(term_key(&p.term));
            let new_definition = definitions.insert(normalize(&p.definition));
            if new_term && new_definition {
                Outcome::Keep
            } else {
                Outcome::Remove
            }
        },
    );
    let mut seen = HashSet::new();
    tally.review(
        "fill_in_blank",
        &mut games.fill_in_blank.items,
        |i| i.text.clone(),
        |i| first(&mut seen, normalize(&i.text)),
    );
    let mut seen = HashSet::new();
    tally.review(
        "true_false",
        &mut games.true_false.statements,
        |s| s.statement.clone(),
        |s| first(&mut seen, normalize(&s.statement)),
    );
    tally.finish()
}

fn schema_valid(games: &mut Games) -> GuardrailReport {
    let mut tally = Tally::new("schema_valid");
    if games.format_version != GAMES_FORMAT_VERSION {
        return tally.fail(&format!(
            "unsupported `format_version` `{}`, expected `{GAMES_FORMAT_VERSION}`",
            games.format_version
        ));
    }
    let unlimited = usize::MAX;
    tally.review(
        "quiz",
        &mut games.quiz.questions,
        |q| q.prompt.clone(),
        |q| {
            let index_valid = (q.answer_index as usize) < q.options.len();
            let filled = bounded(unlimited, [q.prompt.as_str(), &q.answer]);
            if index_valid { filled } else { Outcome::Remove }
        },
    );
    tally.review(
        "matching",
        &mut games.matching.pairs,
        |p| p.term.clone(),
        |p| bounded(unlimited, [p.term.as_str(), &p.definition]),
    );
    tally.review(
        "fill_in_blank",
        &mut games.fill_in_blank.items,
        |i| i.text.clone(),
        |i| bounded(unlimited, [i.text.as_str(), &i.answer]),
    );
    tally.review(
        "true_false",
        &mut games.true_false.statements,
        |s| s.statement.clone(),
        |s| {
            bounded(
                unlimited,
                [
                    s.statement.as_str(),
                    &s.term,
                    &s.definition,
                    &s.correct_term,
                ],
            )
        },
    );

    unique_ids(&mut tally, "quiz", "quiz", &mut games.quiz.questions);
    unique_ids(&mut tally, "matching", "pair", &mut games.matching.pairs);
    unique_ids(
        &mut tally,
        "fill_in_blank",
        "blank",
        &mut games.fill_in_blank.items,
    );
    unique_ids(
        &mut tally,
        "true_false",
        "statement",
        &mut games.true_false.statements,
    );
    tally.finish()
}

fn item_counts(games: &mut Games, limits: &GuardrailLimits) -> GuardrailReport {
    let mut tally = Tally::new("item_counts");
    let reasons: Vec<String> = [
        enforce_count(
            &mut tally,
            "quiz",
            &mut games.quiz.questions,
            limits.quiz_questions,
        ),
        enforce_count(
            &mut tally,
            "matching",
            &mut games.matching.pairs,
            limits.matching_pairs,
        ),
        enforce_count(
            &mut tally,
            "fill_in_blank",
            &mut games.fill_in_blank.items,
            limits.fill_in_blank_items,
        ),
        enforce_count(
            &mut tally,
            "true_false",
            &mut games.true_false.statements,
            limits.true_false_statements,
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    if reasons.is_empty() {
        tally.finish()
    } else {
        tally.fail(&reasons.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::SourceSpan;
    use crate::games::{
        FillInBlankGame, FillInBlankItem, MatchingGame, MatchingPair, QuizGame, TrueFalseGame,
        TrueFalseStatement,
    };
    use crate::guardrails::Verdict;
    use crate::pack::{GeneratorInfo, Question, QuestionKind};

    const SOURCE: &str = "Chlorophyll is a green pigment. The stroma is a fluid. \
        A thylakoid is a sac. Glucose is a sugar.";
    const FACTS: [(&str, &str, &str); 4] = [
        (
            "Chlorophyll",
            "a green pigment",
            "Chlorophyll is a green pigment.",
        ),
        ("stroma", "a fluid", "The stroma is a fluid."),
        ("thylakoid", "a sac", "A thylakoid is a sac."),
        ("Glucose", "a sugar", "Glucose is a sugar."),
    ];

    fn span(text: &str) -> SourceSpan {
        SourceSpan {
            text: text.into(),
            offset: SOURCE.find(text).unwrap_or(0),
        }
    }

    fn games() -> Games {
        let options: Vec<String> = FACTS.iter().map(|(term, ..)| (*term).to_owned()).collect();
        let questions = FACTS
            .iter()
            .enumerate()
            .map(|(index, (term, _, sentence))| Question {
                id: format!("quiz-{}", index + 1),
                kind: QuestionKind::TermForDefinition,
                concept_id: None,
                prompt: format!("Question {index}?"),
                options: options.clone(),
                answer_index: index as u32,
                answer: (*term).to_owned(),
                source: span(sentence),
            })
            .collect();
        let pairs = FACTS
            .iter()
            .enumerate()
            .map(|(index, (term, definition, sentence))| MatchingPair {
                id: format!("pair-{}", index + 1),
                term: (*term).to_owned(),
                definition: (*definition).to_owned(),
                source: span(sentence),
            })
            .collect();
        let items = FACTS
            .iter()
            .enumerate()
            .map(|(index, (term, definition, sentence))| FillInBlankItem {
                id: format!("blank-{}", index + 1),
                text: format!("{BLANK} is {definition}."),
                answer: term.to_lowercase(),
                source: span(sentence),
            })
            .collect();
        let statements = FACTS
            .iter()
            .enumerate()
            .map(|(index, (term, _, _))| {
                let (owner, definition, sentence) = FACTS[(index + index % 2) % FACTS.len()];
                TrueFalseStatement {
                    id: format!("statement-{}", index + 1),
                    statement: format!("{term} is {definition}."),
                    answer: owner == *term,
                    term: (*term).to_owned(),
                    definition: definition.to_owned(),
                    correct_term: owner.to_owned(),
                    source: span(sentence),
                }
            })
            .collect();
        Games {
            format_version: GAMES_FORMAT_VERSION,
            generator: GeneratorInfo {
                name: "test".into(),
                version: "1".into(),
            },
            title: "Leaves".into(),
            quiz: QuizGame { questions },
            matching: MatchingGame { pairs },
            fill_in_blank: FillInBlankGame {
                word_bank: vec![
                    "chlorophyll".into(),
                    "glucose".into(),
                    "stroma".into(),
                    "thylakoid".into(),
                ],
                items,
            },
            true_false: TrueFalseGame { statements },
        }
    }

    #[test]
    fn clean_games_pass_every_guardrail_unchanged() {
        let mut checked = games();
        let reports = check(&mut checked, SOURCE, &GuardrailLimits::default()).unwrap_or_default();
        assert_eq!(reports.len(), 8);
        assert!(
            reports.iter().all(|r| r.verdict == Verdict::Passed),
            "{reports:?}"
        );
        assert_eq!(checked, games());
    }

    #[test]
    fn wrong_flags_and_missing_bank_words_are_repaired() {
        let mut broken = games();
        broken.true_false.statements[1].answer = !broken.true_false.statements[1].answer;
        broken
            .fill_in_blank
            .word_bank
            .retain(|word| word != "glucose");
        broken.fill_in_blank.word_bank.push("Stroma".into());

        let reports = check(&mut broken, SOURCE, &GuardrailLimits::default()).unwrap_or_default();
        let answers = reports.iter().find(|r| r.guardrail == "answer_in_options");
        assert_eq!(answers.map(|r| r.items_repaired), Some(2));
        assert_eq!(broken.true_false.statements, games().true_false.statements);
        assert_eq!(
            broken.fill_in_blank.word_bank,
            games().fill_in_blank.word_bank
        );
    }

    #[test]
    fn a_false_statement_with_an_ungrounded_definition_is_removed() {
        let mut invented = games();
        invented.true_false.statements[0].definition = "a kind of rock".into();
        let reports = check(&mut invented, SOURCE, &GuardrailLimits::default()).unwrap_or_default();
        let grounding = reports.iter().find(|r| r.guardrail == "grounded_in_source");
        assert_eq!(grounding.map(|r| r.items_removed), Some(1));
        assert_eq!(invented.true_false.statements.len(), 3);
    }

    #[test]
    fn an_empty_game_fails_the_stage() {
        let mut empty = games();
        empty.matching.pairs.clear();
        let failure = check(&mut empty, SOURCE, &GuardrailLimits::default()).err();
        assert_eq!(failure.as_ref().map(|f| f.guardrail), Some("item_counts"));
        assert_eq!(
            failure.map(|f| f.reason),
            Some("`matching`: `0` left, at least `3` required".to_owned())
        );
    }
}
