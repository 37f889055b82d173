"""Nobody sees a child they are not linked to: scoping, and 404 for strangers everywhere."""

import pytest
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, reverse

from diary.models import Child
from tests.conftest import login

# Values for the other parts of a child's URLs.
OTHER_KWARGS = {"fmt": "svg"}


def child_url_names(patterns=None, prefix="", namespace=""):
    """Every named URL under children/<pk>/..., found by walking the URLconf."""
    found = []
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            found += child_url_names(entry.url_patterns, route, ns)
        elif (
            isinstance(entry, URLPattern)
            and entry.name
            and "children" in route
            and "pk" in entry.pattern.regex.groupindex
            and "format" not in route
        ):
            found.append(namespace + entry.name)
    return sorted(set(found))


def child_url(name: str, pk: int) -> str:
    for extra in ({}, OTHER_KWARGS, {"assessment_pk": 1}):
        try:
            return reverse(name, kwargs={"pk": pk, **extra})
        except NoReverseMatch:
            continue
    raise NoReverseMatch(f"{name}: add its other parameters to child_url()")


def test_the_walk_finds_the_pages_and_the_api():
    names = child_url_names()
    assert {
        "child_detail",
        "child_edit",
        "child_invite",
        "api:child-detail",
        "timeline_chart",
        "visit_report",
        "treatment",
        "api_phases",
    } <= set(names)


def test_visible_to(world):
    visible = {
        u: set(Child.objects.visible_to(getattr(world, u)))
        for u in vars(world)
        if u in ("alice", "bob", "carol", "dan", "sam", "rita")
    }
    assert visible["alice"] == {world.amy}
    assert visible["bob"] == {world.ben}
    assert visible["carol"] == {world.amy}
    assert visible["sam"] == {world.amy}
    assert visible["dan"] == {world.ben}
    assert visible["rita"] == set()


def test_visible_to_anonymous_and_inactive(world):
    from django.contrib.auth.models import AnonymousUser

    assert not Child.objects.visible_to(AnonymousUser()).exists()
    world.alice.is_active = False
    assert not Child.objects.visible_to(world.alice).exists()


@pytest.mark.parametrize("stranger", ["bob", "dan", "rita"])
@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete"])
def test_strangers_get_404_on_every_child_url(world, client, stranger, method):
    login(client, getattr(world, stranger))
    for name in child_url_names():
        url = child_url(name, world.amy.pk)
        response = getattr(client, method)(url, content_type="application/json")
        assert response.status_code in (404, 405), (name, method, response.status_code)
        if response.status_code == 405:
            # The method is not offered anywhere: check GET still hides the child.
            assert client.get(url).status_code == 404, name
        # The full name: "Amy" alone turns up in random CSRF tokens.
        assert b"Amy Test" not in response.content


def test_stranger_404_even_for_a_child_that_does_not_exist(world, client):
    login(client, world.bob)
    missing = Child.objects.order_by("-pk").first().pk + 100
    assert client.get(reverse("child_detail", args=[missing])).status_code == 404
    assert client.get(reverse("child_detail", args=[world.amy.pk])).status_code == 404


def test_anonymous_is_sent_to_sign_in(world, client):
    response = client.get(reverse("child_detail", args=[world.amy.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert client.get("/api/children/").status_code in (401, 403)


def test_linked_people_see_the_child(world, client):
    for user in (world.alice, world.carol, world.sam):
        login(client, user)
        response = client.get(reverse("child_detail", args=[world.amy.pk]))
        assert response.status_code == 200
        assert b"Amy" in response.content


def test_caregiver_cannot_edit_or_invite(world, client):
    login(client, world.alice)
    assert client.get(reverse("child_edit", args=[world.amy.pk])).status_code == 404
    assert client.post(reverse("child_invite", args=[world.amy.pk])).status_code == 404
    assert client.get(reverse("child_create")).status_code == 403


def test_api_lists_only_visible_children(world, api_for):
    for user, expected in [
        (world.alice, {world.amy.pk}),
        (world.bob, {world.ben.pk}),
        (world.carol, {world.amy.pk}),
        (world.dan, {world.ben.pk}),
        (world.rita, set()),
    ]:
        response = api_for(user).get("/api/children/")
        assert response.status_code == 200
        assert {row["id"] for row in response.json()["results"]} == expected, user


def test_home_page_differs_by_role(world, client):
    login(client, world.alice)
    page = client.get("/").content.decode()
    assert "Your children" in page and "Amy" in page and "Ben" not in page
    assert "Register a child" not in page
    login(client, world.carol)
    page = client.get("/").content.decode()
    assert "Children of your sites" in page and "Amy" in page and "Ben" not in page
    login(client, world.rita)
    page = client.get("/").content.decode()
    assert "Amy" not in page and "Ben" not in page and "anonymised" in page.lower()
    login(client, world.sam)
    assert reverse("site_members", args=["north"]) in client.get("/").content.decode()


def test_site_members_page_only_for_its_site_admins(world, client):
    url = reverse("site_members", args=["north"])
    for user in (world.carol, world.dan, world.alice, world.rita):
        login(client, user)
        assert client.get(url).status_code == 404
    login(client, world.sam)
    page = client.get(url).content.decode()
    assert "carol@example.org" in page and "dan@example.org" not in page
