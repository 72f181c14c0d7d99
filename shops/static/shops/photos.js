/* The console's photo page: upload with a progress bar (XHR), move photos up and down before saving
   their order, and swap in thumbnails when the rendition task has drawn them. Works without it too:
   the form posts normally. */
(function () {
    "use strict";
    var form = document.querySelector("[data-testid=photo-upload]");
    if (!form) { return; }
    var input = form.querySelector("input[type=file]");
    var bar = form.querySelector("progress");
    var state = form.querySelector(".c-upload__state");
    var text = window.consoleText || {};

    // One photo per request: each stays within the server's per-request limit (16 MB), a bad one is named
    // while the others go through, and the bar shows the whole selection's progress.
    function uploadOne(file, done) {
        var data = new FormData();
        data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
        data.append("photos", file, file.name);
        var xhr = new XMLHttpRequest();
        xhr.open("POST", form.action);
        xhr.setRequestHeader("Accept", "application/json");
        xhr.upload.addEventListener("progress", function (event) {
            if (event.lengthComputable) { done.progress(event.loaded / event.total); }
        });
        xhr.addEventListener("load", function () {
            var answer = {};
            try { answer = JSON.parse(xhr.responseText); } catch (e) { answer = {errors: [text.failed]}; }
            if (answer.detail) { answer.errors = [file.name + ": " + answer.detail]; }  // 413 and the like
            done.finish(answer.added || 0, answer.errors || [], answer.notes || []);
        });
        xhr.addEventListener("error", function () { done.finish(0, [text.failed], []); });
        xhr.send(data);
    }

    input.addEventListener("change", function () {
        var files = Array.prototype.slice.call(input.files);
        if (!files.length) { return; }
        var added = 0, errors = [], notes = [], index = 0;
        bar.hidden = false;
        bar.value = 0;
        state.textContent = text.uploading;
        state.classList.remove("c-error");
        function next() {
            if (index >= files.length) {
                bar.value = 100;
                // A photo sent again (its first answer lost) is there once: a note, not an error, and
                // "uploaded" only when a photo was added.
                state.textContent = (added ? text.uploaded + " " : "") + notes.concat(errors).join(" ");
                state.classList.toggle("c-error", errors.length > 0);
                if (added) {
                    // Show the new photos (as "processing") and let the poll below swap their thumbnails in.
                    window.setTimeout(function () { window.location.reload(); }, errors.length ? 2500 : 300);
                }
                input.value = "";
                return;
            }
            uploadOne(files[index], {
                progress: function (fraction) { bar.value = Math.round(100 * (index + fraction) / files.length); },
                finish: function (newAdded, newErrors, newNotes) {
                    added += newAdded;
                    errors = errors.concat(newErrors);
                    notes = notes.concat(newNotes);
                    index += 1;
                    next();
                }
            });
        }
        next();
    });

    var list = document.querySelector(".c-photos");
    if (list) {
        list.addEventListener("click", function (event) {
            var button = event.target.closest("[data-move]");
            if (!button) { return; }
            var item = button.closest("li");
            if (button.dataset.move === "up" && item.previousElementSibling) {
                list.insertBefore(item, item.previousElementSibling);
            } else if (button.dataset.move === "down" && item.nextElementSibling) {
                list.insertBefore(item.nextElementSibling, item);
            }
        });
    }

    function poll() {
        if (!document.querySelector(".c-photo[data-ready='0']")) { return; }
        fetch(form.dataset.statusUrl, {headers: {Accept: "application/json"}, credentials: "same-origin"})
            .then(function (response) { return response.json(); })
            .then(function (answer) {
                answer.photos.forEach(function (photo) {
                    var item = document.querySelector(".c-photo[data-photo='" + photo.id + "']");
                    if (item && photo.ready && item.dataset.ready === "0") {
                        item.dataset.ready = "1";
                        var box = item.querySelector(".c-photo__img");
                        box.innerHTML = "";
                        var img = document.createElement("img");
                        img.src = photo.thumb;
                        img.alt = "";
                        img.setAttribute("data-testid", "photo-thumb");
                        box.appendChild(img);
                    }
                });
                window.setTimeout(poll, 1500);
            })
            .catch(function () { window.setTimeout(poll, 4000); });
    }
    poll();
}());
