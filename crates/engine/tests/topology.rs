//! Arrows composed: both ways, meshes, hubs. Only internal users travel, so nothing echoes.
use crate::support::World;

#[tokio::test]
async fn arrows_both_ways_never_echo() {
    let w = World::new();
    let (a, b) = (w.tenant("Adatum").await, w.tenant("Bellows").await);
    let alice = w.user(&a, "alice", &[]).await;
    let bob = w.user(&b, "bob", &[]).await;
    let ab = w.arrow(&a, &b, |_| {}).await;
    let ba = w.arrow(&b, &a, |_| {}).await;
    for _ in 0..3 {
        w.run(&ab).await;
        w.run(&ba).await;
    }
    assert_eq!(w.count(a.id).await, 2, "alice and bob's copy");
    assert_eq!(w.count(b.id).await, 2, "bob and alice's copy");
    assert!(w.copy(&b, &alice).await.is_some());
    assert!(w.copy(&a, &bob).await.is_some());
}

#[tokio::test]
async fn a_full_mesh_of_four_converges_with_one_copy_each() {
    let w = World::new();
    let mut tenants = Vec::new();
    for name in ["Proseware", "Wingtip", "Lamna", "Relecloud"] {
        let t = w.tenant(name).await;
        for i in 0..3 {
            w.user(&t, &format!("u{i}"), &[]).await;
        }
        tenants.push(t);
    }
    let mut arrows = Vec::new();
    for s in &tenants {
        for t in &tenants {
            if s.id != t.id {
                arrows.push(w.arrow(s, t, |_| {}).await);
            }
        }
    }
    for _ in 0..2 {
        for c in &arrows {
            w.run(c).await;
        }
    }
    for t in &tenants {
        assert_eq!(w.count(t.id).await, 3 + 3 * 3, "{}: own 3 plus 3 from each of 3 partners", t.display_name);
    }
}
