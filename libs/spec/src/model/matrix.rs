//! Searches and mappings (`matrix`): grid, random, hyperband, bayes, hyperopt, iterative,
//! mapping, with Polyaxon's fields. The size of a search space is computed in
//! `crate::rules::matrix`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::hp::HpParam;
use super::params::Tuner;
use super::schedule::{EarlyStopping, OptimizationMetric, OptimizationResource};
use super::{Json, OrRef};
use crate::{section, tagged};

tagged! {
    /// Runs an operation over many param sets.
    pub enum Matrix {
        "grid" => Grid(GridSearch),
        "random" => Random(RandomSearch),
        "hyperband" => Hyperband(Hyperband),
        "bayes" => Bayes(Bayes),
        "hyperopt" => Hyperopt(Hyperopt),
        "iterative" => Iterative(Iterative),
        "mapping" => Mapping(Mapping),
    }
}

section! {
    /// Every combination of discrete values.
    #[derive(Default)]
    pub struct GridSearch {
        params: BTreeMap<String, HpParam>,
        num_runs: Option<OrRef<u64>>,
        concurrency: Option<OrRef<u64>>,
        early_stopping: Option<Vec<EarlyStopping>>,
    }
}

section! {
    /// `numRuns` random samples of the space.
    #[derive(Default)]
    pub struct RandomSearch {
        params: BTreeMap<String, HpParam>,
        num_runs: OrRef<u64>,
        seed: Option<OrRef<i64>>,
        concurrency: Option<OrRef<u64>>,
        early_stopping: Option<Vec<EarlyStopping>>,
    }
}

section! {
    /// Successive halving over a resource.
    #[derive(Default)]
    pub struct Hyperband {
        params: Option<BTreeMap<String, HpParam>>,
        max_iterations: Option<OrRef<u64>>,
        eta: Option<OrRef<f64>>,
        resource: Option<OptimizationResource>,
        metric: Option<OptimizationMetric>,
        resume: Option<OrRef<bool>>,
        seed: Option<OrRef<i64>>,
        concurrency: Option<OrRef<u64>>,
        tuner: Option<Tuner>,
        early_stopping: Option<Vec<EarlyStopping>>,
    }
}

section! {
    /// The acquisition settings of bayesian optimization.
    #[derive(Default)]
    pub struct UtilityFunction {
        acquisition_function: Option<AcquisitionFunction>,
        gaussian_process: Option<GaussianProcess>,
        kappa: Option<f64>,
        eps: Option<f64>,
        num_warmup: Option<u64>,
        num_iterations: Option<u64>,
    }
}

/// `utilityFunction.acquisitionFunction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AcquisitionFunction {
    /// Upper confidence bound (needs `kappa`).
    #[serde(alias = "UCB", alias = "Ucb")]
    Ucb,
    /// Expected improvement (needs `eps`).
    #[serde(alias = "EI", alias = "Ei")]
    Ei,
    /// Probability of improvement (needs `eps`).
    #[serde(alias = "POI", alias = "Poi")]
    Poi,
}

section! {
    /// The gaussian process of bayesian optimization.
    #[derive(Default)]
    pub struct GaussianProcess {
        kernel: Option<Kernel>,
        length_scale: Option<f64>,
        nu: Option<f64>,
        num_restarts_optimizer: Option<u64>,
    }
}

/// A gaussian process kernel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kernel {
    /// Radial basis function.
    #[serde(alias = "RBF", alias = "Rbf")]
    Rbf,
    /// Matérn.
    #[serde(alias = "MATERN", alias = "Matern")]
    Matern,
}

section! {
    /// Bayesian optimization.
    #[derive(Default)]
    pub struct Bayes {
        utility_function: Option<UtilityFunction>,
        num_initial_runs: OrRef<u64>,
        max_iterations: OrRef<u64>,
        metric: OptimizationMetric,
        params: BTreeMap<String, HpParam>,
        seed: Option<OrRef<i64>>,
        concurrency: Option<OrRef<u64>>,
        tuner: Option<Tuner>,
        early_stopping: Option<Vec<EarlyStopping>>,
    }
}

/// The algorithm of a hyperopt search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum HyperoptAlgorithm {
    /// Tree of Parzen estimators.
    Tpe,
    /// Random.
    Rand,
    /// Simulated annealing.
    Anneal,
}

section! {
    /// A search driven by the hyperopt library.
    #[derive(Default)]
    pub struct Hyperopt {
        max_iterations: Option<OrRef<u64>>,
        metric: OptimizationMetric,
        algorithm: Option<HyperoptAlgorithm>,
        params: BTreeMap<String, HpParam>,
        num_runs: OrRef<u64>,
        seed: Option<OrRef<i64>>,
        concurrency: Option<OrRef<u64>>,
        tuner: Option<Tuner>,
        early_stopping: Option<Vec<EarlyStopping>>,
    }
}

section! {
    /// Iterations of suggestions made by a custom tuner.
    #[derive(Default)]
    pub struct Iterative {
        params: Option<BTreeMap<String, HpParam>>,
        max_iterations: OrRef<u64>,
        seed: Option<OrRef<i64>>,
        concurrency: Option<OrRef<u64>>,
        tuner: Option<Tuner>,
        early_stopping: Option<Vec<EarlyStopping>>,
    }
}

section! {
    /// One run per listed param set.
    #[derive(Default)]
    pub struct Mapping {
        values: OrRef<Vec<BTreeMap<String, Json>>>,
        concurrency: Option<OrRef<u64>>,
        early_stopping: Option<Vec<EarlyStopping>>,
    }
}

impl Default for OrRef<Vec<BTreeMap<String, Json>>> {
    fn default() -> Self {
        OrRef::Value(Vec::new())
    }
}

impl Matrix {
    /// The hyperparameters of the search (none for a mapping).
    pub fn params(&self) -> Option<&BTreeMap<String, HpParam>> {
        match self {
            Matrix::Grid(grid) => Some(&grid.params),
            Matrix::Random(random) => Some(&random.params),
            Matrix::Hyperband(hyperband) => hyperband.params.as_ref(),
            Matrix::Bayes(bayes) => Some(&bayes.params),
            Matrix::Hyperopt(hyperopt) => Some(&hyperopt.params),
            Matrix::Iterative(iterative) => iterative.params.as_ref(),
            Matrix::Mapping(_) => None,
        }
    }
}
