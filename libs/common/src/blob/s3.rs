//! The S3 blob adapter: the [`Blob`] port on any S3 API (AWS, MinIO, Ceph, s3s) through aws-sdk-s3.
//!
//! - Credentials are static (access key + secret key from the settings); no AWS profile or IMDS lookup.
//! - `put` is one PutObject. `put_stream` buffers at most one part ([`S3Settings::part_size_bytes`],
//!   at least 5 MiB): a body that fits in one part is one PutObject, a larger one a multipart upload
//!   (aborted when the body or an upload fails; an upload abandoned by a cancelled call is left to the
//!   bucket's lifecycle rules). Up to 10,000 parts, so 8 MiB parts allow objects of ~80 GB.
//! - `get` streams the response body; `list` follows ListObjectsV2 pages; `delete_prefix` lists
//!   then uses DeleteObjects in batches of 1,000.
//! - Every key gets [`S3Settings::prefix`] prepended; listed keys come back without it.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use bytes::{Bytes, BytesMut};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use super::{Blob, ByteStream, Error, ObjectInfo, Result, validate_key, validate_prefix};
use crate::settings::secret;

/// The smallest part S3 accepts (except for the last one).
const MIN_PART: usize = 5 * 1024 * 1024;
/// Keys per DeleteObjects call (S3's limit).
const DELETE_BATCH: usize = 1000;

/// Where the bucket is and how to sign requests.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct S3Settings {
    /// The endpoint url (`http://127.0.0.1:9000`); None for AWS's regional endpoint.
    pub endpoint: Option<String>,
    pub bucket: String,
    pub region: String,
    pub access_key: String,
    #[serde(serialize_with = "secret::serialize")]
    pub secret_key: SecretString,
    /// `http://host/bucket/key` instead of `http://bucket.host/key` (MinIO and most self-hosted stores).
    pub force_path_style: bool,
    /// Prepended to every key (`myelin/`); empty for none.
    pub prefix: String,
    /// Size of the parts of a streamed upload (at least 5 MiB).
    pub part_size_bytes: usize,
    /// Creates the bucket at connect when it does not exist (development setups).
    pub create_bucket: bool,
}

impl Default for S3Settings {
    fn default() -> Self {
        Self {
            endpoint: None,
            bucket: "myelin".to_owned(),
            region: "us-east-1".to_owned(),
            access_key: String::new(),
            secret_key: SecretString::from(""),
            force_path_style: true,
            prefix: String::new(),
            part_size_bytes: 8 * 1024 * 1024,
            create_bucket: false,
        }
    }
}

/// A blob store in an S3 bucket. Cheap to clone.
#[derive(Debug, Clone)]
pub struct S3Blob {
    client: Client,
    bucket: String,
    prefix: String,
    part_size: usize,
}

impl S3Blob {
    /// Builds the client and checks the bucket answers (creating it when `create_bucket` is set).
    pub async fn connect(settings: S3Settings) -> Result<Self> {
        validate_prefix(&settings.prefix)?;
        let credentials = Credentials::new(
            settings.access_key.clone(),
            settings.secret_key.expose_secret().to_owned(),
            None,
            None,
            "myelin-settings",
        );
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .read_timeout(Duration::from_secs(60))
            .build();
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(settings.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(settings.force_path_style)
            .timeout_config(timeouts);
        if let Some(endpoint) = settings.endpoint.as_deref().filter(|e| !e.is_empty()) {
            config = config.endpoint_url(endpoint);
        }
        let blob = Self {
            client: Client::from_conf(config.build()),
            bucket: settings.bucket.clone(),
            prefix: settings.prefix.clone(),
            part_size: settings.part_size_bytes.max(MIN_PART),
        };
        match blob.client.head_bucket().bucket(&blob.bucket).send().await {
            Ok(_) => {}
            Err(err) if settings.create_bucket && is_not_found(&err) => {
                blob.client
                    .create_bucket()
                    .bucket(&blob.bucket)
                    .send()
                    .await
                    .map_err(|e| sdk_error("create bucket", &blob.bucket, e))?;
            }
            Err(err) => return Err(sdk_error("head bucket", &blob.bucket, err)),
        }
        Ok(blob)
    }

    /// The underlying client (tests and tools).
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn full_key(&self, key: &str) -> Result<String> {
        validate_key(key)?;
        Ok(format!("{}{key}", self.prefix))
    }

    async fn put_part(&self, key: &str, upload_id: &str, number: i32, body: Bytes) -> Result<CompletedPart> {
        let out = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(body.into())
            .send()
            .await
            .map_err(|e| sdk_error("upload part", key, e))?;
        Ok(CompletedPart::builder()
            .set_e_tag(out.e_tag)
            .part_number(number)
            .build())
    }

    /// Uploads `first` then the rest of `body` as a multipart upload of `full` (the prefixed key).
    async fn multipart(
        &self,
        key: &str,
        full: &str,
        first: Bytes,
        mut body: ByteStream,
        mut buf: BytesMut,
    ) -> Result<u64> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(full)
            .send()
            .await
            .map_err(|e| sdk_error("create multipart upload", full, e))?;
        let upload_id = created
            .upload_id
            .ok_or_else(|| Error::Backend(format!("no upload id for {full}")))?;
        let uploaded = async {
            let mut size = first.len() as u64;
            let mut parts = vec![self.put_part(full, &upload_id, 1, first).await?];
            loop {
                let chunk = body.next().await.transpose().map_err(|source| Error::Body {
                    key: key.to_owned(),
                    source,
                })?;
                let last = chunk.is_none();
                if let Some(chunk) = chunk {
                    buf.extend_from_slice(&chunk);
                }
                while buf.len() >= self.part_size || (last && !buf.is_empty()) {
                    let part = buf.split_to(buf.len().min(self.part_size)).freeze();
                    size += part.len() as u64;
                    let number =
                        i32::try_from(parts.len() + 1).map_err(|_| Error::Backend("too many parts".to_owned()))?;
                    parts.push(self.put_part(full, &upload_id, number, part).await?);
                }
                if last {
                    break;
                }
            }
            self.client
                .complete_multipart_upload()
                .bucket(&self.bucket)
                .key(full)
                .upload_id(&upload_id)
                .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
                .send()
                .await
                .map_err(|e| sdk_error("complete multipart upload", full, e))?;
            Ok(size)
        }
        .await;
        if uploaded.is_err() {
            let _ = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(full)
                .upload_id(&upload_id)
                .send()
                .await;
        }
        uploaded
    }
}

fn is_not_found<E>(err: &SdkError<E, HttpResponse>) -> bool {
    err.raw_response().is_some_and(|raw| raw.status().as_u16() == 404)
}

fn sdk_error<E, R>(operation: &str, key: &str, err: SdkError<E, R>) -> Error
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let message = format!("{operation} {key}: {}", DisplayErrorContext(&err));
    match err {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => Error::Connection(message),
        _ => Error::Backend(message),
    }
}

fn body_stream(body: aws_sdk_s3::primitives::ByteStream) -> ByteStream {
    futures::stream::try_unfold(body, |mut body| async move {
        match body.try_next().await {
            Ok(Some(chunk)) => Ok(Some((chunk, body))),
            Ok(None) => Ok(None),
            Err(err) => Err(std::io::Error::other(err)),
        }
    })
    .boxed()
}

#[async_trait]
impl Blob for S3Blob {
    async fn put(&self, key: &str, body: Bytes) -> Result<()> {
        let full = self.full_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(&full)
            .body(body.into())
            .send()
            .await
            .map_err(|e| sdk_error("put", &full, e))?;
        Ok(())
    }

    async fn put_stream(&self, key: &str, mut body: ByteStream) -> Result<u64> {
        let full = self.full_key(key)?;
        let mut buf = BytesMut::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|source| Error::Body {
                key: key.to_owned(),
                source,
            })?;
            buf.extend_from_slice(&chunk);
            if buf.len() >= self.part_size {
                let first = buf.split_to(self.part_size).freeze();
                return self.multipart(key, &full, first, body, buf).await;
            }
        }
        let size = buf.len() as u64;
        self.put(key, buf.freeze()).await?;
        Ok(size)
    }

    async fn get(&self, key: &str) -> Result<Option<ByteStream>> {
        let full = self.full_key(key)?;
        match self.client.get_object().bucket(&self.bucket).key(&full).send().await {
            Ok(out) => Ok(Some(body_stream(out.body))),
            Err(err) if is_not_found(&err) => Ok(None),
            Err(err) => Err(sdk_error("get", &full, err)),
        }
    }

    async fn exists(&self, key: &str) -> Result<bool> {
        let full = self.full_key(key)?;
        match self.client.head_object().bucket(&self.bucket).key(&full).send().await {
            Ok(_) => Ok(true),
            Err(err) if is_not_found(&err) => Ok(false),
            Err(err) => Err(sdk_error("head", &full, err)),
        }
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectInfo>> {
        validate_prefix(prefix)?;
        let full = format!("{}{prefix}", self.prefix);
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(&full)
            .into_paginator()
            .send();
        let mut objects = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk_error("list", &full, e))?;
            for object in page.contents() {
                let Some(key) = object.key().and_then(|k| k.strip_prefix(self.prefix.as_str())) else {
                    continue;
                };
                objects.push(ObjectInfo {
                    key: key.to_owned(),
                    size: object.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    last_modified: object
                        .last_modified()
                        .and_then(|t| DateTime::<Utc>::from_timestamp(t.secs(), t.subsec_nanos())),
                });
            }
        }
        objects.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(objects)
    }

    async fn delete(&self, key: &str) -> Result<()> {
        let full = self.full_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(&full)
            .send()
            .await
            .map_err(|e| sdk_error("delete", &full, e))?;
        Ok(())
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<u64> {
        if prefix.is_empty() {
            return Err(Error::InvalidKey {
                key: String::new(),
                reason: "refusing to delete every object (empty prefix)",
            });
        }
        let objects = self.list(prefix).await?;
        for batch in objects.chunks(DELETE_BATCH) {
            let ids = batch
                .iter()
                .map(|o| {
                    ObjectIdentifier::builder()
                        .key(format!("{}{}", self.prefix, o.key))
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Error::Backend(e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| Error::Backend(e.to_string()))?;
            let out = self
                .client
                .delete_objects()
                .bucket(&self.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| sdk_error("delete objects", prefix, e))?;
            if let Some(failed) = out.errors().first() {
                return Err(Error::Backend(format!(
                    "cannot delete {}: {}",
                    failed.key().unwrap_or_default(),
                    failed.message().unwrap_or_default()
                )));
            }
        }
        Ok(objects.len() as u64)
    }
}
