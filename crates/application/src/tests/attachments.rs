//! [`Attachments`](crate::Attachments): bytes and record stored together or
//! not at all, who may upload and delete, and files going with their task,
//! project or tenant.

use std::io::{self, Cursor, Read};

use taskforce_domain::{Plan, TargetType, Task, Verb};

use super::crew::{Crew, changes, crew, project, task, work_log};
use crate::{
    PageRequest, WorkError,
    testing::{TestResult, World, refused},
};

/// The crew with a task of olga's.
fn with_task(world: &World) -> TestResult<(Crew, Task)> {
    let crew = crew(world, Plan::Basic)?;
    let project = world.projects().create(&crew.olga, &project("Apollo")?)?;
    let task = world.tasks().create(&crew.olga, project.id, &task("Launch")?)?;
    Ok((crew, task))
}

fn bytes(n: usize) -> Cursor<Vec<u8>> {
    Cursor::new((0..n).map(|i| (i % 256) as u8).collect())
}

#[test]
fn an_upload_stores_bytes_and_record_and_logs_it() -> TestResult {
    let world = World::new();
    let (crew, launch) = with_task(&world)?;

    let stored =
        world.attachments().upload(&crew.mia, launch.id, "../../plan.PDF", Some("Application/PDF"), &mut bytes(700))?;

    assert_eq!((stored.task_id, stored.uploaded_by, stored.size), (launch.id, crew.mia.user, 700));
    assert_eq!((stored.filename.as_str(), stored.content_type.as_str()), ("plan.PDF", "application/pdf"));
    let files = world.files.all();
    assert_eq!(files.len(), 1);
    assert_eq!((&files[0].0, &files[0].1), (&crew.tenant.schema_name, &stored.storage_key));
    assert_eq!(files[0].2, bytes(700).into_inner());
    assert_eq!(world.store.snapshot().attachments(&crew.tenant.schema_name), std::slice::from_ref(&stored));
    let log = work_log(&world, &crew.tenant);
    let entry = log.last().ok_or("no activity")?;
    assert_eq!(
        (entry.actor, entry.verb, entry.target_type, entry.target_id, entry.project_id),
        (crew.mia.user, Verb::Created, TargetType::Attachment, stored.id.0, Some(launch.project_id.0))
    );
    assert_eq!(
        changes(entry),
        serde_json::json!({"filename": [null, "plan.PDF"], "content_type": [null, "application/pdf"],
                           "size": [null, 700], "task_id": [null, launch.id.0]})
    );
    let (_, mut back) = world.attachments().open(&crew.vic, stored.id)?;
    let mut read = Vec::new();
    back.read_to_end(&mut read)?;
    assert_eq!(read, bytes(700).into_inner());
    Ok(())
}

#[test]
fn refused_uploads_keep_nothing() -> TestResult {
    let world = World::new();
    let (crew, launch) = with_task(&world)?;
    let attachments = world.attachments();
    let logged = work_log(&world, &crew.tenant);

    let viewer = refused(attachments.upload(&crew.vic, launch.id, "a.txt", None, &mut bytes(10)))?;
    let unknown =
        refused(attachments.upload(&crew.mia, taskforce_domain::TaskId(launch.id.0 + 99), "a", None, &mut bytes(10)))?;
    let too_large = refused(attachments.upload(&crew.mia, launch.id, "big.bin", None, &mut bytes(1001)))?;
    let mut broken = bytes(10).chain(Failing);
    let interrupted = refused(attachments.upload(&crew.mia, launch.id, "cut.bin", None, &mut broken))?;

    assert!(matches!(viewer, WorkError::Denied(_)), "{viewer:?}");
    assert!(matches!(unknown, WorkError::NotFound), "{unknown:?}");
    assert!(matches!(too_large, WorkError::FileTooLarge { limit: 1000 }), "{too_large:?}");
    assert!(matches!(interrupted, WorkError::UploadInterrupted), "{interrupted:?}");
    assert!(world.files.all().is_empty());
    assert!(world.store.snapshot().attachments(&crew.tenant.schema_name).is_empty());
    assert_eq!(work_log(&world, &crew.tenant), logged);
    Ok(())
}

/// Bytes that run `meanwhile` when first read: what happens while a slow
/// client is still sending its file.
struct Meanwhile<F: FnOnce()> {
    meanwhile: Option<F>,
    bytes: Cursor<Vec<u8>>,
}

impl<F: FnOnce()> Read for Meanwhile<F> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(meanwhile) = self.meanwhile.take() {
            meanwhile();
        }
        self.bytes.read(buf)
    }
}

/// An upload is judged again when its bytes are in: an uploader demoted to
/// viewer, or whose session ended, or whose tenant was deactivated while the
/// file was arriving (as long as the client likes) records nothing and keeps
/// no bytes.
#[test]
fn an_uploader_demoted_or_signed_out_while_the_file_arrives_records_nothing() -> TestResult {
    let world = World::new();
    let (crew, launch) = with_task(&world)?;
    let logged = work_log(&world, &crew.tenant);
    let mia = world.store.snapshot().memberships.iter().find(|m| m.user_id == crew.mia.user).ok_or("mia")?.id;
    let (members, olga) = (world.members(), crew.olga.clone());
    let mut demoted = Meanwhile {
        meanwhile: Some(move || {
            members.change_role(&olga, mia, taskforce_domain::Role::Viewer, None).expect("mia is demoted");
        }),
        bytes: bytes(10),
    };
    let error = refused(world.attachments().upload(&crew.mia, launch.id, "a.txt", None, &mut demoted))?;
    assert!(matches!(error, WorkError::Denied(_)), "{error:?}");

    let (store, session) = (world.store.clone(), crew.max.session);
    let mut signed_out = Meanwhile {
        meanwhile: Some(move || {
            store.edit(|state| {
                for stored in state.sessions.iter_mut().filter(|s| s.family == session) {
                    stored.revoked = Some("logout".to_owned());
                }
            });
        }),
        bytes: bytes(10),
    };
    let error = refused(world.attachments().upload(&crew.max, launch.id, "b.txt", None, &mut signed_out))?;
    assert!(matches!(error, WorkError::Denied(_)), "{error:?}");

    let (admin, slug) = (world.admin(), crew.tenant.slug.clone());
    let mut deactivated = Meanwhile {
        meanwhile: Some(move || {
            let off = taskforce_domain::TenantChanges { is_active: Some(false), ..Default::default() };
            admin.update(&slug, &off).expect("the tenant is deactivated");
        }),
        bytes: bytes(10),
    };
    let error = refused(world.attachments().upload(&crew.adam, launch.id, "c.txt", None, &mut deactivated))?;
    assert!(matches!(error, WorkError::TenantInactive), "{error:?}");
    let on = taskforce_domain::TenantChanges { is_active: Some(true), ..Default::default() };
    world.admin().update(&crew.tenant.slug, &on)?;

    assert!(world.files.all().is_empty(), "the bytes were discarded");
    assert!(world.store.snapshot().attachments(&crew.tenant.schema_name).is_empty());
    assert_eq!(work_log(&world, &crew.tenant), logged, "no upload was logged");
    // and one still standing uploads as before
    world.attachments().upload(&crew.adam, launch.id, "c.txt", None, &mut bytes(10))?;
    Ok(())
}

#[test]
fn the_uploader_an_admin_or_an_owner_deletes_and_the_bytes_go() -> TestResult {
    let world = World::new();
    let (crew, launch) = with_task(&world)?;
    let attachments = world.attachments();
    let mias = attachments.upload(&crew.mia, launch.id, "mia.txt", None, &mut bytes(5))?;
    let maxs = attachments.upload(&crew.max, launch.id, "max.txt", None, &mut bytes(6))?;

    let by_other_member = refused(attachments.delete(&crew.max, mias.id, None))?;
    let by_viewer = refused(attachments.delete(&crew.vic, mias.id, None))?;
    attachments.delete(&crew.mia, mias.id, None)?;
    attachments.delete(&crew.adam, maxs.id, None)?;
    let again = refused(attachments.delete(&crew.adam, maxs.id, None))?;

    assert!(matches!(by_other_member, WorkError::Denied(_)), "{by_other_member:?}");
    assert!(matches!(by_viewer, WorkError::Denied(_)), "{by_viewer:?}");
    assert!(matches!(again, WorkError::NotFound), "{again:?}");
    assert!(world.files.all().is_empty());
    let log = work_log(&world, &crew.tenant);
    let deleted: Vec<_> = log.iter().filter(|a| a.verb == Verb::Deleted).map(|a| (a.actor, a.target_id)).collect();
    assert_eq!(deleted, [(crew.mia.user, mias.id.0), (crew.adam.user, maxs.id.0)]);
    Ok(())
}

#[test]
fn files_go_with_their_task_project_or_tenant() -> TestResult {
    let world = World::new();
    let (crew, launch) = with_task(&world)?;
    let attachments = world.attachments();
    let apollo = launch.project_id;
    let other = world.tasks().create(&crew.olga, apollo, &task("Land")?)?;
    let gemini = world.projects().create(&crew.olga, &project("Gemini")?)?;
    let kept_task = world.tasks().create(&crew.olga, gemini.id, &task("Orbit")?)?;
    attachments.upload(&crew.olga, launch.id, "a", None, &mut bytes(1))?;
    attachments.upload(&crew.olga, other.id, "b", None, &mut bytes(1))?;
    let kept = attachments.upload(&crew.olga, kept_task.id, "c", None, &mut bytes(1))?;

    world.tasks().delete(&crew.olga, launch.id, None)?;
    let after_task = world.files.all().len();
    world.projects().delete(&crew.olga, apollo, None)?;

    assert_eq!(after_task, 2);
    let left: Vec<_> = world.files.all().into_iter().map(|(_, key, _)| key).collect();
    assert_eq!(left, [kept.storage_key]);
    let listed = attachments.list(&crew.vic, kept_task.id, PageRequest::default())?;
    assert_eq!(listed.total, 1);
    world.admin().delete(&crew.tenant.slug)?;
    assert!(world.files.all().is_empty());
    Ok(())
}

struct Failing;

impl Read for Failing {
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::ConnectionReset, "the client went away"))
    }
}
