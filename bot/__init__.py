"""studybot's core in layers (kernel, rules, catalog, images, dispatch, features, jobs) and its
composition root; see the README's Architecture section."""
