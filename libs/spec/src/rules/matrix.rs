//! Rules of `matrix` and its hyperparameters (ranges that go forward, positive steps and
//! counts, probabilities that sum to at most 1, discrete values for grid search, uniform ones
//! for bayes, the acquisition parameters, ...), and the size of a search space.

use super::Report;
use super::schedule::check_early_stopping;
use crate::model::hp::{ArgNames, Args, HpParam};
use crate::model::matrix::{AcquisitionFunction, Matrix};
use crate::model::{Json, OrRef};
use crate::path::Path;
use crate::values::datetime;

/// `matrix`.
pub(crate) fn check(report: &mut Report, matrix: &Matrix, path: &Path) {
    if let Some(params) = matrix.params() {
        for (name, param) in params {
            check_param(report, param, &path.key("params").key(name.clone()));
        }
    }
    let positive = |report: &mut Report, value: Option<&OrRef<u64>>, field: &str| {
        if value == Some(&OrRef::Value(0)) {
            report.invalid(path.key(field), format!("`{field}` must be at least 1"));
        }
    };
    match matrix {
        Matrix::Grid(grid) => {
            for (name, param) in &grid.params {
                if !param.is_discrete() {
                    let message = format!(
                        "grid search needs discrete values, but `{name}` is a `{}` distribution",
                        param.kind()
                    );
                    report.invalid(path.key("params").key(name.clone()).key("kind"), message);
                }
            }
            positive(report, grid.num_runs.as_ref(), "numRuns");
            positive(report, grid.concurrency.as_ref(), "concurrency");
            check_early_stopping(
                report,
                grid.early_stopping.as_deref().unwrap_or_default(),
                &path.key("earlyStopping"),
            );
        }
        Matrix::Random(random) => {
            positive(report, Some(&random.num_runs), "numRuns");
            positive(report, random.concurrency.as_ref(), "concurrency");
            check_early_stopping(
                report,
                random.early_stopping.as_deref().unwrap_or_default(),
                &path.key("earlyStopping"),
            );
        }
        Matrix::Hyperband(hyperband) => {
            positive(report, hyperband.max_iterations.as_ref(), "maxIterations");
            positive(report, hyperband.concurrency.as_ref(), "concurrency");
            if let Some(OrRef::Value(eta)) = hyperband.eta
                && eta <= 1.0
            {
                report.invalid(path.key("eta"), format!("`eta` must be greater than 1, found {eta}"));
            }
            check_early_stopping(
                report,
                hyperband.early_stopping.as_deref().unwrap_or_default(),
                &path.key("earlyStopping"),
            );
        }
        Matrix::Bayes(bayes) => {
            for (name, param) in &bayes.params {
                if param.is_non_uniform_distribution() {
                    let message = format!(
                        "bayesian optimization needs uniform distributions, but `{name}` is `{}`",
                        param.kind()
                    );
                    report.invalid(path.key("params").key(name.clone()).key("kind"), message);
                }
            }
            if let Some(utility) = &bayes.utility_function {
                let function = utility.acquisition_function.unwrap_or(AcquisitionFunction::Ucb);
                let utility_path = path.key("utilityFunction");
                match function {
                    AcquisitionFunction::Ucb if utility.kappa.is_none() => {
                        report.push(
                            crate::code::MISSING_FIELD,
                            utility_path.key("kappa"),
                            "the acquisition function `ucb` requires `kappa`",
                        );
                    }
                    AcquisitionFunction::Ei | AcquisitionFunction::Poi if utility.eps.is_none() => {
                        report.push(
                            crate::code::MISSING_FIELD,
                            utility_path.key("eps"),
                            "the acquisition functions `ei` and `poi` require `eps`",
                        );
                    }
                    _ => {}
                }
            }
            positive(report, Some(&bayes.num_initial_runs), "numInitialRuns");
            positive(report, Some(&bayes.max_iterations), "maxIterations");
            positive(report, bayes.concurrency.as_ref(), "concurrency");
            check_early_stopping(
                report,
                bayes.early_stopping.as_deref().unwrap_or_default(),
                &path.key("earlyStopping"),
            );
        }
        Matrix::Hyperopt(hyperopt) => {
            positive(report, Some(&hyperopt.num_runs), "numRuns");
            positive(report, hyperopt.max_iterations.as_ref(), "maxIterations");
            positive(report, hyperopt.concurrency.as_ref(), "concurrency");
            check_early_stopping(
                report,
                hyperopt.early_stopping.as_deref().unwrap_or_default(),
                &path.key("earlyStopping"),
            );
        }
        Matrix::Iterative(iterative) => {
            positive(report, Some(&iterative.max_iterations), "maxIterations");
            positive(report, iterative.concurrency.as_ref(), "concurrency");
            check_early_stopping(
                report,
                iterative.early_stopping.as_deref().unwrap_or_default(),
                &path.key("earlyStopping"),
            );
        }
        Matrix::Mapping(mapping) => {
            if let OrRef::Value(values) = &mapping.values {
                if values.is_empty() {
                    report.invalid(path.key("values"), "a mapping needs at least one set of values");
                }
                let first: Option<Vec<&String>> = values.first().map(|set| set.keys().collect());
                for (index, set) in values.iter().enumerate().skip(1) {
                    if Some(set.keys().collect::<Vec<_>>()) != first {
                        let message = "every set of values of a mapping must have the same names as the first";
                        report.invalid(path.key("values").index(index), message);
                    }
                }
            }
            positive(report, mapping.concurrency.as_ref(), "concurrency");
            check_early_stopping(
                report,
                mapping.early_stopping.as_deref().unwrap_or_default(),
                &path.key("earlyStopping"),
            );
        }
    }
}

fn numbers<N: ArgNames>(args: &Args<N>, path: &Path, report: &mut Report) -> bool {
    let mut ok = true;
    for (name, value) in N::NAMES.iter().zip(&args.values) {
        if let Some(value) = value
            && !value.is_number()
        {
            report.invalid(path.clone(), format!("`{name}` must be a number, found {value}"));
            ok = false;
        }
    }
    ok
}

/// One hyperparameter.
pub(crate) fn check_param(report: &mut Report, param: &HpParam, path: &Path) {
    let value_path = path.key("value");
    match param {
        HpParam::Choice(choice) => {
            if let OrRef::Value(values) = &choice.value
                && values.is_empty()
            {
                report.invalid(value_path, "`choice` needs at least one value");
            }
        }
        HpParam::PChoice(pchoice) => {
            if let OrRef::Value(values) = &pchoice.value {
                if let Some((index, _)) = values.iter().enumerate().find(|(_, (_, p))| !(0.0..1.0).contains(p)) {
                    report.invalid(
                        value_path.index(index),
                        "each probability must be at least 0 and less than 1",
                    );
                } else if values.iter().map(|(_, p)| p).sum::<f64>() > 1.0 + 1e-9 {
                    report.invalid(value_path, "the probabilities of `pchoice` must sum to at most 1");
                }
            }
        }
        HpParam::Range(range) => {
            if let OrRef::Value(args) = &range.value
                && numbers(args, &value_path, report)
            {
                order(report, args, "start", "stop", &value_path);
                positive(report, args, "step", &value_path);
            }
        }
        HpParam::DateRange(range) | HpParam::DateTimeRange(range) => {
            if let OrRef::Value(args) = &range.value {
                let parse = |name: &str| args.get(name).and_then(Json::as_str).and_then(datetime);
                match (parse("start"), parse("stop")) {
                    (Some(start), Some(stop)) if stop <= start => {
                        report.invalid(value_path.clone(), "`stop` must come after `start`")
                    }
                    (Some(_), Some(_)) => {}
                    _ => report.invalid(
                        value_path.clone(),
                        "`start` and `stop` must be dates such as 2024-01-31",
                    ),
                }
                positive(report, args, "step", &value_path);
            }
        }
        HpParam::LinSpace(space) | HpParam::GeomSpace(space) => {
            if let OrRef::Value(args) = &space.value
                && numbers(args, &value_path, report)
            {
                order(report, args, "start", "stop", &value_path);
                count(report, args.get("num"), &value_path);
                if matches!(param, HpParam::GeomSpace(_))
                    && args.number("start").unwrap_or(1.0) * args.number("stop").unwrap_or(1.0) <= 0.0
                {
                    report.invalid(
                        value_path,
                        "`geomspace` needs `start` and `stop` of the same sign, not zero",
                    );
                }
            }
        }
        HpParam::LogSpace(space) => {
            if let OrRef::Value(args) = &space.value
                && numbers(args, &value_path, report)
            {
                order(report, args, "start", "stop", &value_path);
                count(report, args.get("num"), &value_path);
            }
        }
        HpParam::Uniform(dist) | HpParam::LogUniform(dist) => {
            if let OrRef::Value(args) = &dist.value
                && numbers(args, &value_path, report)
            {
                order(report, args, "low", "high", &value_path);
                if args.get("size").is_some() {
                    count(report, args.get("size"), &value_path);
                }
            }
        }
        HpParam::QUniform(dist) | HpParam::QLogUniform(dist) => {
            if let OrRef::Value(args) = &dist.value
                && numbers(args, &value_path, report)
            {
                order(report, args, "low", "high", &value_path);
                positive(report, args, "q", &value_path);
            }
        }
        HpParam::Normal(dist) | HpParam::LogNormal(dist) => {
            if let OrRef::Value(args) = &dist.value
                && numbers(args, &value_path, report)
            {
                positive(report, args, "scale", &value_path);
            }
        }
        HpParam::QNormal(dist) | HpParam::QLogNormal(dist) => {
            if let OrRef::Value(args) = &dist.value
                && numbers(args, &value_path, report)
            {
                positive(report, args, "scale", &value_path);
                positive(report, args, "q", &value_path);
            }
        }
    }
}

fn order<N: ArgNames>(report: &mut Report, args: &Args<N>, low: &str, high: &str, path: &Path) {
    if let (Some(a), Some(b)) = (args.number(low), args.number(high))
        && b <= a
    {
        report.invalid(
            path.clone(),
            format!("`{high}` ({b}) must be greater than `{low}` ({a})"),
        );
    }
}

fn positive<N: ArgNames>(report: &mut Report, args: &Args<N>, name: &str, path: &Path) {
    let value = args.get(name);
    let number = value.and_then(Json::as_f64);
    if value.is_some() && number.is_none_or(|number| number <= 0.0) {
        let found = value.map(Json::to_string).unwrap_or_default();
        report.invalid(path.clone(), format!("`{name}` must be positive, found {found}"));
    }
}

fn count(report: &mut Report, value: Option<&Json>, path: &Path) {
    if value.and_then(Json::as_u64).is_none_or(|count| count == 0) {
        let found = value.map(Json::to_string).unwrap_or_default();
        report.invalid(
            path.clone(),
            format!("expected a positive whole number of values, found {found}"),
        );
    }
}

/// How many values a discrete hyperparameter takes (`None` for distributions and templates).
pub fn discrete_len(param: &HpParam) -> Option<u64> {
    let steps =
        |start: f64, stop: f64, step: f64| (step > 0.0 && stop > start).then(|| ((stop - start) / step).ceil() as u64);
    match param {
        HpParam::Choice(choice) => choice.value.value().map(|values| values.len() as u64),
        HpParam::PChoice(pchoice) => pchoice.value.value().map(|values| values.len() as u64),
        HpParam::Range(range) => {
            let args = range.value.value()?;
            steps(args.number("start")?, args.number("stop")?, args.number("step")?)
        }
        HpParam::DateRange(range) | HpParam::DateTimeRange(range) => {
            let args = range.value.value()?;
            let start = datetime(args.get("start")?.as_str()?)?;
            let stop = datetime(args.get("stop")?.as_str()?)?;
            let unit = if matches!(param, HpParam::DateRange(_)) {
                86_400.0
            } else {
                1.0
            };
            steps(0.0, (stop - start).num_seconds() as f64, args.number("step")? * unit)
        }
        HpParam::LinSpace(space) | HpParam::GeomSpace(space) => space.value.value()?.get("num")?.as_u64(),
        HpParam::LogSpace(space) => space.value.value()?.get("num")?.as_u64(),
        _ => None,
    }
}

/// The number of runs a matrix starts, when known before running: the product of the
/// discrete sizes for grid (at most `numRuns`), `numRuns` for random, the number of value sets
/// for a mapping.
pub fn size(matrix: &Matrix) -> Option<u64> {
    match matrix {
        Matrix::Grid(grid) => {
            let space = grid
                .params
                .values()
                .map(discrete_len)
                .try_fold(1u64, |total, len| len.map(|len| total.saturating_mul(len)))?;
            match grid.num_runs.as_ref().and_then(OrRef::value) {
                Some(limit) => Some(space.min(*limit)),
                None => Some(space),
            }
        }
        Matrix::Random(random) => random.num_runs.value().copied(),
        Matrix::Hyperopt(hyperopt) => hyperopt.num_runs.value().copied(),
        Matrix::Mapping(mapping) => mapping.values.value().map(|values| values.len() as u64),
        _ => None,
    }
}

/// The size of the discrete part of a search space (`None` when some param is continuous).
pub fn discrete_space(matrix: &Matrix) -> Option<u64> {
    matrix
        .params()?
        .values()
        .map(discrete_len)
        .try_fold(1u64, |total, len| len.map(|len| total.saturating_mul(len)))
}
