"""{{ child.first_name|whose }} and {{ value|number }} for messages in the reader's language."""

from django import template

from diary import language

register = template.Library()


@register.filter
def whose(name) -> str:
    return language.whose(str(name))


@register.filter
def number(value) -> str:
    return language.number(value)
