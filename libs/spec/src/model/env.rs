//! Run-time sections: `environment` (`V1Environment`), `init` (`V1Init` and the artifacts, git,
//! dockerfile, file and tensorboard types), `termination`, `cache`, `plugins` (with
//! notifications and the sidecar), `template` and `mount`.

use std::collections::BTreeMap;
use std::fmt;

use k8s_openapi::api::batch::v1::PodFailurePolicy;
use k8s_openapi::api::core::v1::{
    Affinity, Container, ExecAction, HTTPGetAction, HostAlias, PodDNSConfig, PodSecurityContext, ResourceRequirements,
    Toleration,
};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::schedule::Status;
use super::{Json, OrRef};
use crate::section;

section! {
    /// Pod-level settings (`V1Environment`).
    #[derive(Default)]
    pub struct Environment {
        labels: Option<BTreeMap<String, String>>,
        annotations: Option<BTreeMap<String, String>>,
        node_selector: Option<BTreeMap<String, String>>,
        #[serde(deserialize_with = "super::k8s")]
        affinity: Option<Affinity>,
        #[serde(deserialize_with = "super::k8s")]
        tolerations: Option<Vec<Toleration>>,
        node_name: Option<String>,
        service_account_name: Option<String>,
        #[serde(deserialize_with = "super::k8s")]
        host_aliases: Option<Vec<HostAlias>>,
        #[serde(deserialize_with = "super::k8s")]
        security_context: Option<PodSecurityContext>,
        image_pull_secrets: Option<Vec<String>>,
        host_network: Option<bool>,
        #[serde(rename = "hostPID")]
        host_pid: Option<bool>,
        dns_policy: Option<String>,
        #[serde(deserialize_with = "super::k8s")]
        dns_config: Option<PodDNSConfig>,
        scheduler_name: Option<String>,
        priority_class_name: Option<String>,
        priority: Option<i32>,
        restart_policy: Option<RestartPolicy>,
    }
}

/// `environment.restartPolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RestartPolicy {
    /// Restart always.
    Always,
    /// Restart on failure.
    OnFailure,
    /// Never restart.
    Never,
}

section! {
    /// One init container: a built-in handler (at most one) or a custom `container`.
    #[derive(Default)]
    pub struct Init {
        artifacts: Option<OrRef<ArtifactsType>>,
        paths: Option<Json>,
        git: Option<OrRef<GitType>>,
        dockerfile: Option<OrRef<DockerfileType>>,
        file: Option<OrRef<FileType>>,
        tensorboard: Option<OrRef<TensorboardType>>,
        lineage_ref: Option<String>,
        model_ref: Option<String>,
        artifact_ref: Option<String>,
        connection: Option<String>,
        path: Option<String>,
        #[serde(deserialize_with = "super::k8s")]
        container: Option<Container>,
    }
}

section! {
    /// Files and directories to fetch from an artifacts store (`V1ArtifactsType`).
    #[derive(Default)]
    pub struct ArtifactsType {
        files: Option<Json>,
        dirs: Option<Json>,
        workers: Option<OrRef<u64>>,
    }
}

section! {
    /// A git repository to clone (`V1GitType`).
    #[derive(Default)]
    pub struct GitType {
        url: Option<String>,
        revision: Option<String>,
        flags: Option<Vec<String>>,
    }
}

section! {
    /// A Dockerfile to generate (`V1DockerfileType`).
    #[derive(Default)]
    pub struct DockerfileType {
        image: String,
        env: Option<BTreeMap<String, Json>>,
        path: Option<Vec<String>>,
        copy: Option<Json>,
        post_run_copy: Option<Json>,
        run: Option<Vec<String>>,
        lang_env: Option<String>,
        uid: Option<OrRef<i64>>,
        gid: Option<OrRef<i64>>,
        username: Option<String>,
        filename: Option<String>,
        workdir: Option<String>,
        workdir_path: Option<String>,
        shell: Option<String>,
    }
}

section! {
    /// A file to write (`V1FileType`).
    #[derive(Default)]
    pub struct FileType {
        kind: Option<String>,
        content: String,
        filename: Option<String>,
        chmod: Option<String>,
    }
}

section! {
    /// Tensorboard logs to gather (`V1TensorboardType`).
    #[derive(Default)]
    pub struct TensorboardType {
        port: Option<OrRef<u16>>,
        #[serde(deserialize_with = "super::strings::or_ref")]
        uuids: Option<OrRef<Vec<String>>>,
        use_names: Option<OrRef<bool>>,
        path_prefix: Option<String>,
        #[serde(deserialize_with = "super::strings::deserialize")]
        plugins: Option<Vec<String>>,
    }
}

section! {
    /// When to stop a run and how long to keep it (`V1Termination`).
    #[derive(Default)]
    pub struct Termination {
        max_retries: Option<OrRef<u64>>,
        ttl: Option<OrRef<u64>>,
        timeout: Option<OrRef<u64>>,
        culling: Option<Culling>,
        probe: Option<ActivityProbe>,
        #[serde(deserialize_with = "super::k8s")]
        pod_failure_policy: Option<PodFailurePolicy>,
    }
}

section! {
    /// Idle-based stop of services (`V1Culling`).
    #[derive(Default)]
    pub struct Culling {
        timeout: Option<u64>,
    }
}

section! {
    /// How to tell whether a service is idle (`V1ActivityProbe`).
    #[derive(Default)]
    pub struct ActivityProbe {
        #[serde(deserialize_with = "super::k8s")]
        exec: Option<ExecAction>,
        #[serde(deserialize_with = "super::k8s")]
        http: Option<HTTPGetAction>,
    }
}

section! {
    /// When a run may reuse the outputs of an identical earlier run (`V1Cache`).
    #[derive(Default)]
    pub struct Cache {
        disable: Option<OrRef<bool>>,
        ttl: Option<OrRef<u64>>,
        io: Option<Vec<String>>,
        sections: Option<Vec<CacheSection>>,
    }
}

/// `cache.sections`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CacheSection {
    /// The init section.
    Init,
    /// The connections.
    Connections,
    /// The containers' command and args.
    Containers,
}

section! {
    /// Platform features of a run (`V1Plugins`).
    #[derive(Default)]
    pub struct Plugins {
        auth: Option<OrRef<bool>>,
        docker: Option<OrRef<bool>>,
        shm: Option<OrRef<bool>>,
        mount_artifacts_store: Option<OrRef<bool>>,
        collect_artifacts: Option<OrRef<bool>>,
        collect_logs: Option<OrRef<bool>>,
        collect_resources: Option<OrRef<bool>>,
        sync_statuses: Option<OrRef<bool>>,
        auto_resume: Option<OrRef<bool>>,
        log_level: Option<String>,
        external_host: Option<OrRef<bool>>,
        sidecar: Option<SidecarContainer>,
        notifications: Option<Vec<Notification>>,
    }
}

section! {
    /// Overrides of the sidecar that collects outputs (`V1PolyaxonSidecarContainer`).
    #[derive(Default)]
    pub struct SidecarContainer {
        image: Option<String>,
        image_tag: Option<String>,
        image_pull_policy: Option<String>,
        #[serde(deserialize_with = "super::k8s")]
        resources: Option<ResourceRequirements>,
        sleep_interval: Option<OrRef<u64>>,
        sync_interval: Option<OrRef<u64>>,
        monitor_logs: Option<OrRef<bool>>,
    }
}

section! {
    /// Who to tell when a run reaches a status (`V1Notification`).
    #[derive(Default)]
    pub struct Notification {
        connections: Vec<String>,
        trigger: Option<Status>,
    }
}

section! {
    /// Marks a specification as not runnable without changes (`V1Template`).
    #[derive(Default)]
    pub struct Template {
        enabled: Option<OrRef<bool>>,
        description: Option<String>,
        fields: Option<Vec<String>>,
    }
}

/// A local path uploaded with the run: `from:to`, `from`, or `{from, to}` (`V1Mount`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Mount {
    /// The local path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The path in the run (the source path when absent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

impl<'de> Deserialize<'de> for Mount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MountVisitor;

        impl<'de> Visitor<'de> for MountVisitor {
            type Value = Mount;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`from:to` or a mapping with `from` and `to`")
            }

            fn visit_str<E: de::Error>(self, text: &str) -> Result<Mount, E> {
                let (from, to) = match text.split_once(':') {
                    Some((from, to)) => (from, Some(to.to_owned())),
                    None => (text, None),
                };
                Ok(Mount {
                    from: Some(from.to_owned()),
                    to,
                })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Mount, A::Error> {
                let mut mount = Mount::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "from" | "path_from" | "pathFrom" => mount.from = map.next_value()?,
                        "to" | "path_to" | "pathTo" => mount.to = map.next_value()?,
                        other => return Err(de::Error::unknown_field(other, &["from", "to"])),
                    }
                }
                Ok(mount)
            }
        }

        deserializer.deserialize_any(MountVisitor)
    }
}
